# Outbound assignee sync when things go wrong: Jira down (errors, then
# timeouts) and back, with every queued change delivered once and in
# order per issue; retries used up, a dead row with its error, later
# changes not held back by it, and the replay SQL of docs/sync.md; queued
# changes surviving an nginx reload and a stop and start.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(wait_for);
use Time::HiRes qw(sleep);

my $METRICS = 'location = /metrics { jira_sync_metrics; }';
my ($t, $jira) = JiraMock->start(
    http => outbox_directives(1000),
    nginx => { workers => 2, locations => $METRICS });

# what JiraMock->start put before the outbox directives
(my $BASE = $t->{nginx_opts}{http}) =~ s/\n.*//s;

sub outbox_directives {
    my ($max) = @_;
    return 'jira_sync_outbox_interval 100ms;'
         . ' jira_sync_outbox_backoff 100ms 300ms;'
         . " jira_sync_outbox_max_attempts $max;";
}

# integration A (never called) and B (the mock), two groups each linked
# to A's APP-1 and to an issue of B: one change in A makes two rows
my $on = { sync_reverse_assignment => JSON::PP::true,
           sync_forward_assignment => JSON::PP::true };
my $s = $t->scenario(config => $on);
my $b = $jira->install_pat_for($t, $s, config => $on);

my @groups = ($s->{group}, $t->group($s));
my @keys = ('OPS-7', 'OPS-8');
for my $i (0, 1) {
    my $ei = $t->insert('external_issue', organization_id => $s->{org},
                        integration_id => $b, key => $keys[$i]);
    $t->insert('group_link', group_id => $groups[$i],
               project_id => $s->{project}, linked_type => 3,
               linked_id => $ei, relationship => 2);
}

$t->user($s, email => 'alice@example.com');
$t->user($s, email => 'bob@example.com');
$jira->add_user(key => 'JIRAUSER10001', name => 'ajones',
                email => 'alice@example.com');
$jira->add_user(key => 'JIRAUSER10002', name => 'bsmith',
                email => 'bob@example.com');

my %NAME = ('alice@example.com' => 'ajones', 'bob@example.com' => 'bsmith');

# --- helpers ----------------------------------------------------------------

sub from_a {
    my ($email) = @_;
    my $r = $t->webhook($s->{token},
                        $t->assign_payload('APP-1', defined $email
                                           ? JiraSyncTest::jira_user($email)
                                           : undef));
    is $r->{status}, 200, 'webhook from A: 200' or diag $r->{content};
}

sub count {
    my ($where) = @_;
    return $t->value("SELECT count(*) FROM assignee_outbox WHERE $where");
}

sub settled {
    return wait_for('every row finished',
                    sub { count("status = 'pending'") == 0 }, 600);
}

# what Jira applied to each issue, in order (undef: unassigned)
sub applied {
    my %by;
    push @{ $by{$_->{key}} }, $_->{name} for $jira->assignments;
    return \%by;
}

sub metrics {
    my %m;
    for (split /\n/, $t->http('GET', '/metrics')->{content} // '') {
        $m{$1} = $2 if /^([a-z_]+) (\S+)$/;
    }
    return \%m;
}

# reload with other outbox settings; wait until the old workers are gone
sub reconf {
    my ($max) = @_;
    my $exited = () = $t->error_log =~ /worker process \d+ exited/g;
    $t->{nginx_opts}{http} = "$BASE\n" . outbox_directives($max);
    $t->reload_nginx;
    wait_for('old workers gone', sub {
        my $n = () = $t->error_log =~ /worker process \d+ exited/g;
        $n >= $exited + 2 });
}

# --- Jira down for a while, then back ---------------------------------------

$jira->respond(issue_assignee => 'unavailable',
               user_assignable => 'unavailable');

my @changes = ('alice@example.com', 'bob@example.com', undef,
               'alice@example.com');
from_a($_) for @changes;
is count('true'), 8, 'four changes, two issues: eight rows';

my $first = $t->value('SELECT min(id) FROM assignee_outbox');
wait_for('first row retried', sub {
    $t->value('SELECT attempts FROM assignee_outbox WHERE id = ?',
              $first) >= 3 });

# timeouts instead of errors: the call gives up after
# jira_sync_jira_timeout and the row is retried as well
$jira->respond(issue_assignee => 'hang', user_assignable => 'hang');
my $attempts = $t->value('SELECT attempts FROM assignee_outbox WHERE id = ?',
                         $first);
wait_for('a timed-out attempt', sub {
    $t->value('SELECT attempts FROM assignee_outbox WHERE id = ?', $first)
        > $attempts }, 600);
like $t->value('SELECT last_error FROM assignee_outbox WHERE id = ?',
               $first),
     qr/^\QFailed to assign user to Jira Server issue (user search): Timed\E
        \Q out attempting to reach host: 127.0.0.1:\E\d+$/x,
     'a timeout is recorded as such';

is scalar $jira->assignments, 0, 'nothing applied while Jira is down';
is count("status = 'pending'"), 8, 'every row still pending';
is count("attempts > 0 AND id NOT IN (SELECT min(id) FROM assignee_outbox"
         . ' GROUP BY external_issue_id)'), 0,
   'later rows of an issue wait for its first one';
my $m = metrics();
is $m->{jira_sync_outbox_pending}, 8, 'metrics: depth 8';
ok $m->{jira_sync_outbox_retries_total} >= 6, 'metrics: retries counted';

$jira->clear_responses;
settled();

is count("status = 'done'"), 8, 'every row delivered once Jira is back';
my $want = [ map { defined $_ ? $NAME{$_} : undef } @changes ];
is_deeply applied(), { 'OPS-7' => $want, 'OPS-8' => $want },
          'each change applied exactly once, in order, per issue';
my $disorder = $t->value(
    'SELECT count(*) FROM assignee_outbox a JOIN assignee_outbox b'
    . ' ON a.external_issue_id = b.external_issue_id AND a.id < b.id'
    . ' WHERE a.delivered_at > b.delivered_at');
is $disorder, 0, 'delivered in id order per issue';
$m = metrics();
is $m->{jira_sync_outbox_pending}, 0, 'metrics: depth 0';
is $m->{jira_sync_outbox_deliveries_total}, 8, 'metrics: 8 deliveries';

# --- retries used up --------------------------------------------------------

reconf(3);
$jira->reset_requests;
$t->mark_log;
$jira->respond(issue_assignee => 'bad_gateway');
from_a('bob@example.com');
is count("status <> 'done'"), 2, 'two rows queued';
wait_for('dead rows', sub { count("status = 'dead'") == 2 });
for my $r (@{ $t->rows("SELECT * FROM assignee_outbox WHERE status = 'dead'"
                       . ' ORDER BY id') }) {
    is $r->{attempts}, 3, "row $r->{id}: three attempts";
    is $r->{last_error}, 'Failed to assign user to Jira Server issue: 502'
       . ' <html><body><h1>502 Bad Gateway</h1></body></html>',
       "row $r->{id}: the last error";
}
is scalar $jira->requests('issue_assignee'), 6, 'three PUTs per row';
my $dead = qr/outbound-dead id=\d+ integration_id=$b issue_key="OPS-7"/;
like $t->log_since, qr/\[error\].*$dead attempts=3 error="Failed/,
     'logged as an error';
$m = metrics();
is $m->{jira_sync_outbox_dead}, 2, 'metrics: 2 dead rows';
is $m->{jira_sync_outbox_dead_total}, 2, 'metrics: 2 rows died here';

# the replay SQL documented in docs/sync.md
open my $fh, '<', 'docs/sync.md' or die "docs/sync.md: $!";
my $doc = do { local $/; <$fh> };
my ($replay) = $doc =~ /```sql\n(-- replay dead rows\n.*?)```/s;
ok $replay, 'docs/sync.md has the replay SQL';

# a later change is not held back by dead rows, and makes them stale
$jira->clear_responses;
from_a(undef);
settled();
is_deeply [map { applied()->{$_}[-1] } @keys], [undef, undef],
          'a later change goes through past the dead rows';
$t->dbh->do($replay);
is count("status = 'dead'"), 2,
   'replay leaves dead rows alone when a newer change was sent';

$jira->respond(issue_assignee => 'bad_gateway');
from_a('alice@example.com');
wait_for('dead rows', sub { count("status = 'dead'") == 4 });
$jira->clear_responses;
$t->dbh->do($replay);
settled();
is count("status = 'dead'"), 2, 'the newest dead rows were replayed';
is_deeply [map { applied()->{$_}[-1] } @keys], ['ajones', 'ajones'],
          'and delivered';

# --- reload, stop and start with changes queued -----------------------------

reconf(1000);
$jira->respond(issue_assignee => 'unavailable');
my $before = scalar $jira->assignments;
from_a('bob@example.com');
my $last = $t->value('SELECT max(id) FROM assignee_outbox');
wait_for('a failed attempt', sub {
    $t->value('SELECT attempts FROM assignee_outbox WHERE id = ?',
              $last) >= 1 });

reconf(1000);
is count("status = 'pending'"), 2, 'reloaded: still queued';

$t->stop_nginx;
$jira->clear_responses;
is count("status = 'pending'"), 2, 'stopped: still queued';
is scalar $jira->assignments, $before, 'nothing delivered while stopped';
$t->start_nginx(%{ $t->{nginx_opts} });
settled();
is scalar $jira->assignments, $before + 2, 'started: both delivered once';
is_deeply [map { applied()->{$_}[-1] } @keys], ['bsmith', 'bsmith'],
          'the queued change';

is_deeply [grep { /\[alert\]|\[emerg\]|exited on signal/ }
           split /\n/, $t->error_log], [], 'no alerts, no crash';

done_testing;
