# Webhook metrics: outcomes, assignments, database errors and the
# latency histogram, summed over every worker of the node.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest qw(jwt);

my $t = JiraSyncTest->new(nginx => {
    workers => 2,
    locations => 'location = /metrics { jira_sync_metrics; }' });
my $s = $t->scenario;
my $bob = $t->user($s, email => 'bob@example.com');

sub metrics {
    my $r = $t->http('GET', '/metrics');
    my %m;
    for (split /\n/, $r->{content}) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

my $before = metrics();
is $before->{'jira_sync_webhooks_total{outcome="ok"}'}, 0, 'no webhook yet';
is $before->{'jira_sync_webhook_duration_seconds_count'}, 0, 'none timed';

sub assign {
    my ($email) = @_;
    my $a = defined $email ? JiraSyncTest::jira_user($email) : undef;
    return $t->webhook($s->{token}, $t->assign_payload($s->{key}, $a));
}

is assign('bob@example.com')->{status}, 200, 'assign';
is assign(undef)->{status}, 200, 'deassign';
is assign('bob@example.com')->{status}, 200, 'assign again';
is $t->webhook('garbage', {})->{status}, 400, 'a malformed token';
is $t->webhook(jwt({ id => $s->{external_id} }, 'x'), {})->{status}, 400,
   'a wrong signature';
is $t->webhook($s->{token}, '[1]')->{status}, 400, 'a body not an object';

$t->stop_pg;
my $down = assign(undef);
$t->start_pg;
is $down->{status}, 503, 'database down';

my $m = metrics();
is $m->{'jira_sync_webhooks_total{outcome="ok"}'}, 3, '3 ok';
is $m->{'jira_sync_webhooks_total{outcome="rejected"}'}, 3, '3 rejected';
is $m->{'jira_sync_webhooks_total{outcome="unavailable"}'}, 1,
   '1 unavailable';
is $m->{'jira_sync_webhooks_total{outcome="error"}'}, 0, 'no error';
is $m->{jira_sync_assignments_total}, 2, 'two assignments';
is $m->{jira_sync_deassignments_total}, 1, 'one deassignment';
ok $m->{jira_sync_database_errors_total} >= 1, 'the outage counted';
is $m->{jira_sync_webhook_duration_seconds_count}, 7, 'every webhook timed';
is $m->{'jira_sync_webhook_duration_seconds_bucket{le="+Inf"}'}, 7,
   'the +Inf bucket holds them all';

my @buckets = map { $m->{$_} }
              sort { ($a =~ /le="([\d.]+)"/)[0] <=> ($b =~ /le="([\d.]+)"/)[0] }
              grep { /_bucket\{le="[\d.]+"\}/ } keys %$m;
my $monotonic = 1;
for my $i (1 .. $#buckets) {
    $monotonic = 0 if $buckets[$i] < $buckets[$i - 1];
}
ok @buckets >= 9 && $monotonic, 'buckets are cumulative';
ok $m->{jira_sync_webhook_duration_seconds_sum} >= 0, 'a sum';

done_testing;
