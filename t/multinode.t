# Two nginx nodes on one database: a read on node B right after a webhook
# on node A never shows the old assignee, although each node has its own
# shared-memory cache.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;

my $a = JiraSyncTest->new;
my $b = $a->second_node;
my $s = $a->scenario;
my $alice = $a->user($s, email => 'alice@example.com');
my $bob = $a->user($s, email => 'bob@example.com');
my $token = $a->api_token($alice, 'event:read');

sub read_on {
    my ($node) = @_;
    my $r = $node->http('GET', "/api/0/issues/$s->{group}/",
                        headers => { Authorization => "Bearer $token" });
    return $r->{json}{assignedTo} ? $r->{json}{assignedTo}{id} : 'none';
}

sub assign_on {
    my ($node, $email) = @_;
    my $assignee = defined $email ? JiraSyncTest::jira_user($email) : undef;
    my $r = $node->webhook($s->{token},
                           $node->assign_payload($s->{key}, $assignee));
    return $r->{status};
}

is read_on($b), 'none', 'node B caches the unassigned group';
is read_on($b), 'none', 'twice';

my @emails = ('alice@example.com', 'bob@example.com', undef);
my @ids = ($alice, $bob, 'none');
for my $round (1 .. 12) {
    my $i = $round % 3;
    my ($writer, $reader) = $round % 2 ? ($a, $b) : ($b, $a);
    is assign_on($writer, $emails[$i]), 200, "round $round: webhook";
    is read_on($reader), $ids[$i],
       "round $round: the other node reads the new assignee at once";
    is read_on($reader), $ids[$i], "round $round: and again (cached)";
}

# the webhook secret is cached per node too: each node verifies tokens
is $b->webhook($s->{token}, {})->{status}, 200, 'node B verifies tokens';

done_testing;
