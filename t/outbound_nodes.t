# Two nginx nodes, two workers each, draining one outbox: the queued
# changes of many issues, released at once when Jira comes back, are
# delivered exactly once and in order per issue, and the nodes' counters
# add up to the deliveries.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(wait_for);
use Time::HiRes qw(sleep);

my $METRICS = 'location = /metrics { jira_sync_metrics; }';
my ($t, $jira) = JiraMock->start(
    http => 'jira_sync_outbox_interval 50ms;'
            . ' jira_sync_outbox_backoff 50ms 200ms;'
            . ' jira_sync_outbox_max_attempts 1000;'
            . ' jira_sync_outbox_batch 5;',
    nginx => { workers => 2, locations => $METRICS });
my $t2 = $t->second_node(http => $t->{nginx_opts}{http}, workers => 2,
                         locations => $METRICS);

my $on = { sync_reverse_assignment => JSON::PP::true,
           sync_forward_assignment => JSON::PP::true };
my $s = $t->scenario(config => $on);
my $b = $jira->install_pat_for($t, $s, config => $on);

# eight groups on A's APP-1, each also linked to its own issue in B
my @keys = map { "OPS-$_" } 1 .. 8;
my @groups = ($s->{group}, map { $t->group($s) } 2 .. 8);
for my $i (0 .. $#keys) {
    my $ei = $t->insert('external_issue', organization_id => $s->{org},
                        integration_id => $b, key => $keys[$i]);
    $t->insert('group_link', group_id => $groups[$i],
               project_id => $s->{project}, linked_type => 3,
               linked_id => $ei, relationship => 2);
}

for my $who (['alice', 'ajones'], ['bob', 'bsmith'], ['carol', 'cwu']) {
    $t->user($s, email => "$who->[0]\@example.com");
    $jira->add_user(key => "JIRAUSER-$who->[1]", name => $who->[1],
                    email => "$who->[0]\@example.com");
}

sub delivered_total {
    my ($node) = @_;
    my ($v) = ($node->http('GET', '/metrics')->{content} // '')
              =~ /^jira_sync_outbox_deliveries_total (\d+)$/m;
    return $v;
}

is delivered_total($t), 0, 'node 1: no deliveries yet';
is delivered_total($t2), 0, 'node 2: no deliveries yet';

# Jira is down while the changes are made, through either node
$jira->respond(issue_assignee => 'unavailable',
               user_assignable => 'unavailable');
my @changes = ('alice@example.com', 'bob@example.com', undef,
               'carol@example.com', 'alice@example.com');
my $i = 0;
for my $email (@changes) {
    my $node = $i++ % 2 ? $t2 : $t;
    my $r = $node->webhook($s->{token}, $node->assign_payload('APP-1',
                defined $email ? JiraSyncTest::jira_user($email) : undef));
    is $r->{status}, 200, "change $i through node " . ($i % 2 ? 1 : 2);
}
my $rows = @keys * @changes;
is $t->value('SELECT count(*) FROM assignee_outbox'), $rows,
   "$rows rows queued";
wait_for('the first row of every issue tried', sub {
    $t->value('SELECT count(*) FROM assignee_outbox WHERE attempts > 0')
        == @keys }, 600);

# back, a little slow, so that the drainers overlap
$jira->set(assign_delay => 0.05);
$jira->clear_responses;
wait_for('every row done', sub {
    $t->value("SELECT count(*) FROM assignee_outbox WHERE status = 'done'")
        == $rows }, 600);

my %applied;
push @{ $applied{$_->{key}} }, $_->{name} for $jira->assignments;
my %NAME = ('alice@example.com' => 'ajones', 'bob@example.com' => 'bsmith',
            'carol@example.com' => 'cwu');
my $want = [ map { defined $_ ? $NAME{$_} : undef } @changes ];
is_deeply \%applied, { map { $_ => $want } @keys },
          'every change applied exactly once, in order, on every issue';
is scalar $jira->assignments, $rows, "$rows assignments in all";
is $t->value('SELECT count(*) FROM assignee_outbox WHERE attempts <> 1'
             . " AND id NOT IN (SELECT min(id) FROM assignee_outbox"
             . ' GROUP BY external_issue_id)'), 0,
   'each later row took one attempt';

my ($d1, $d2) = (delivered_total($t), delivered_total($t2));
is $d1 + $d2, $rows, 'the nodes\' counters add up to the deliveries';
diag "node 1 delivered $d1, node 2 delivered $d2";

for my $node ($t, $t2) {
    is_deeply [grep { /\[alert\]|\[emerg\]|exited on signal/ }
               split /\n/, $node->error_log], [], 'no alerts, no crash';
}

done_testing;
