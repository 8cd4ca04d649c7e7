# Outbound assignee sync: a change that came from one Jira integration is
# queued in the outbox for every other integration linked to the group
# (never for its source), and the module's own drain sends it to that
# Jira: the user search and the assignee PUT, checked byte for byte.
# Gates (feature flag, sync_forward_assignment, integration status),
# permanent failures, redaction, metrics and directive checks.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_decode json_encode wait_for);
use Time::HiRes qw(sleep);

my $METRICS = 'location = /metrics { jira_sync_metrics; }';
my ($t, $jira) = JiraMock->start(
    http => 'jira_sync_outbox_interval 100ms;'
            . ' jira_sync_outbox_backoff 100ms 300ms;',
    nginx => { workers => 2, locations => $METRICS });

my $pat = $jira->state->{pat};

# integration A: the scenario's (a Jira the tests never call); B: the
# mock Jira, installed with its PAT; group G linked to A's APP-1 and B's
# OPS-7, both with both sync switches on
my $s = $t->scenario(config => { sync_reverse_assignment => JSON::PP::true,
                                 sync_forward_assignment => JSON::PP::true });
my $b = $jira->install_pat_for($t, $s);
config($b, reverse => 1, forward => 1);
my $ops7 = link_issue($s->{group}, 'OPS-7');

my $alice = $t->user($s, email => 'alice@example.com');
my $bob = $t->user($s, email => 'bob@example.com');
$jira->add_user(key => 'JIRAUSER10001', name => 'ajones',
                email => 'Alice@Example.COM');
$jira->add_user(key => 'JIRAUSER10002', name => 'bsmith',
                email => 'bob@example.com');
# found by the search for alice@example.com, but not her address
$jira->add_user(key => 'JIRAUSER10009', name => 'alice.au',
                email => 'alice@example.com.au');

# --- helpers ----------------------------------------------------------------

sub config {
    my ($integration, %o) = @_;
    $t->dbh->do('UPDATE organization_integration SET config = ?'
                . ' WHERE integration_id = ?', undef,
                json_encode({ sync_reverse_assignment =>
                                  $o{reverse} ? JSON::PP::true
                                              : JSON::PP::false,
                              sync_forward_assignment =>
                                  $o{forward} ? JSON::PP::true
                                              : JSON::PP::false }),
                $integration);
}

# an external issue of integration B linked to a group
sub link_issue {
    my ($group, $key) = @_;
    my $ei = $t->insert('external_issue', organization_id => $s->{org},
                        integration_id => $b, key => $key);
    $t->insert('group_link', group_id => $group,
               project_id => $s->{project}, linked_type => 3,
               linked_id => $ei, relationship => 2);
    return $ei;
}

# a change made in Jira A on APP-1 (undef: unassigned)
sub from_a {
    my ($email) = @_;
    my $r = $t->webhook($s->{token},
                        $t->assign_payload('APP-1', defined $email
                                           ? JiraSyncTest::jira_user($email)
                                           : undef));
    is $r->{status}, 200, 'webhook from A: 200' or diag $r->{content};
    return $r;
}

sub outbox {
    return $t->rows('SELECT * FROM assignee_outbox ORDER BY id');
}

sub row { $t->rows('SELECT * FROM assignee_outbox WHERE id = ?', $_[0])->[0] }

sub last_id { $t->value('SELECT coalesce(max(id), 0) FROM assignee_outbox') }

sub wait_status {
    my ($id, $status) = @_;
    return wait_for("row $id $status",
                    sub { my $r = row($id); $r && $r->{status} eq $status
                                            ? $r : undef });
}


sub assigned {
    return $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                     $s->{group});
}

# --- an assignment made in A reaches B --------------------------------------

$jira->reset_requests;
from_a('alice@example.com');
is assigned(), $alice, 'the group is assigned to Alice';

my $rows = outbox();
is scalar @$rows, 1, 'one outbox row: none for A, where the change came from'
    or diag explain $rows;
my $r = $rows->[0];
is $r->{integration_id}, $b, 'for integration B';
is $r->{external_issue_id}, $ops7, 'for its issue OPS-7';
is $r->{source_integration_id}, $s->{integration},
   'the source integration is recorded';
ok $r->{assign}, 'an assignment';
is $r->{user_id}, $alice, 'of Alice';
is $r->{group_id}, $s->{group}, 'of the group';

$r = wait_status($r->{id}, 'done');
is $r->{attempts}, 1, 'delivered at the first attempt';
is $r->{jira_user}, 'ajones', 'to the Jira user with her address';
is $r->{last_error}, undef, 'no error';
ok defined $r->{delivered_at}, 'delivered_at set';

my @search = $jira->requests('user_assignable');
is scalar @search, 1, 'one user search';
is $search[0]{method}, 'GET', 'search: GET';
is $search[0]{path}, '/rest/api/2/user/assignable/search', 'search: path';
is $search[0]{query}, 'issueKey=OPS-7&username=alice%40example.com',
   'search: the issue key and the email as username';
is $search[0]{body}, '', 'search: no body';
is $search[0]{authorization}, "Bearer $pat", 'search: the PAT';

my @put = $jira->requests('issue_assignee');
is scalar @put, 1, 'one assignee PUT';
is $put[0]{method}, 'PUT', 'PUT';
is $put[0]{path}, '/rest/api/2/issue/OPS-7/assignee', 'PUT: path';
is $put[0]{body}, '{"name": "ajones"}', 'PUT: body, byte for byte';
is $put[0]{content_type}, 'application/json', 'PUT: JSON';
is $put[0]{authorization}, "Bearer $pat", 'PUT: the PAT';
is_deeply [$jira->assignments], [{ key => 'OPS-7', name => 'ajones' }],
          'Jira B assigned OPS-7 to ajones';
my $line = "outbound-delivered id=$r->{id} integration_id=$b"
         . ' issue_key="OPS-7" assign=1 jira_user="ajones" attempts=1';
like $t->error_log, qr/\Q$line\E/, 'delivery logged';

# the same assignee again changes nothing, so nothing is sent
from_a('alice@example.com');
is last_id(), $r->{id}, 'no change: no outbox row';

# --- unassigned in A --------------------------------------------------------

$jira->reset_requests;
from_a(undef);
is assigned(), undef, 'the group is unassigned';
$rows = outbox();
is scalar @$rows, 2, 'one more row';
$r = $rows->[1];
ok !$r->{assign}, 'a deassignment';
is $r->{user_id}, undef, 'without a user';
is $r->{source_integration_id}, $s->{integration}, 'from A';
$r = wait_status($r->{id}, 'done');
is scalar $jira->requests('user_assignable'), 0, 'no user search';
@put = $jira->requests('issue_assignee');
is scalar @put, 1, 'one PUT';
is $put[0]{path}, '/rest/api/2/issue/OPS-7/assignee', 'PUT: path';
is $put[0]{body}, '{"name": null}', 'PUT: {"name": null}, byte for byte';
is_deeply [($jira->assignments)[-1]], [{ key => 'OPS-7', name => undef }],
          'Jira B unassigned OPS-7';

# --- a change made in B goes to A, never back to B --------------------------

my $before = last_id();
my @res = $jira->deliver($t->assign_payload('OPS-7',
                         JiraSyncTest::jira_user('bob@example.com')));
is $res[0]{status}, 200, 'webhook from B: 200';
is assigned(), $bob, 'the group is assigned to Bob';
$rows = $t->rows('SELECT * FROM assignee_outbox WHERE id > ?', $before);
is scalar @$rows, 1, 'one row: for A only, none echoed to B';
is $rows->[0]{integration_id}, $s->{integration}, 'for A';
is $rows->[0]{source_integration_id}, $b, 'from B';

# A has no credentials: retried, then skipped once its switch is off
my $a_row = wait_for('A row retried', sub {
    my $x = row($rows->[0]{id});
    $x->{attempts} >= 1 ? $x : undef });
is $a_row->{status}, 'pending', 'A: still pending after a failure';
is $a_row->{last_error}, 'Identity not found.', 'A: why';
config($s->{integration}, reverse => 1, forward => 0);
$a_row = wait_status($a_row->{id}, 'skipped');
is $a_row->{last_error}, 'sync_forward_assignment is off',
   'turned off before delivery: skipped, with the reason';

# --- gates when the change is made ------------------------------------------

$before = last_id();
config($b, reverse => 1, forward => 0);
from_a('alice@example.com');
is assigned(), $alice, 'B without sync_forward_assignment: assigned';
is last_id(), $before, 'but nothing queued';
config($b, reverse => 1, forward => 1);

$t->dbh->do('UPDATE integration SET status = 1 WHERE id = ?', undef, $b);
from_a('bob@example.com');
is assigned(), $bob, 'B disabled: assigned';
is last_id(), $before, 'but nothing queued';
$t->dbh->do('UPDATE integration SET status = 0 WHERE id = ?', undef, $b);

$t->dbh->do('UPDATE organization SET integrations_issue_sync = false'
            . ' WHERE id = ?', undef, $s->{org});
from_a('alice@example.com');
is last_id(), $before, 'feature flag off: nothing queued';
$t->dbh->do('UPDATE organization SET integrations_issue_sync = true'
            . ' WHERE id = ?', undef, $s->{org});

# a queued row whose feature flag is off at delivery is skipped
$t->dbh->do('UPDATE organization SET integrations_issue_sync = false'
            . ' WHERE id = ?', undef, $s->{org});
$t->dbh->do('INSERT INTO assignee_outbox (external_issue_id,'
            . ' integration_id, group_id, source_integration_id, assign)'
            . ' VALUES (?, ?, ?, ?, false)', undef, $ops7, $b, $s->{group},
            $s->{integration});
$r = wait_status(last_id(), 'skipped');
is $r->{last_error},
   "the organization's integrations-issue-sync feature is off",
   'feature flag off at delivery: skipped';
is $r->{attempts}, 0, 'without an attempt';
$t->dbh->do('UPDATE organization SET integrations_issue_sync = true'
            . ' WHERE id = ?', undef, $s->{org});

# so is one whose external issue was deleted since
my $gone = $t->value('SELECT max(id) + 1000 FROM external_issue');
$t->dbh->do('INSERT INTO assignee_outbox (external_issue_id,'
            . ' integration_id, group_id, source_integration_id, assign)'
            . ' VALUES (?, ?, ?, ?, false)', undef, $gone, $b, $s->{group},
            $s->{integration});
$r = wait_status(last_id(), 'skipped');
is $r->{last_error}, 'the external issue no longer exists',
   'issue deleted before delivery: skipped';

# and a row that would echo a change to its source cannot be stored
ok !eval {
    $t->dbh->do('INSERT INTO assignee_outbox (external_issue_id,'
                . ' integration_id, group_id, source_integration_id,'
                . ' assign) VALUES (?, ?, ?, ?, false)', undef, $ops7, $b,
                $s->{group}, $b);
    1 }, 'the table refuses a row whose target is its source';
like $@, qr/assignee_outbox_check/, 'by its CHECK';
wait_for('settled', sub { !$t->value("SELECT count(*) FROM assignee_outbox"
                                     . " WHERE status = 'pending'") });

# --- no matching Jira user --------------------------------------------------

my $carol = $t->user($s, email => 'carol@example.com');
$jira->reset_requests;
from_a('carol@example.com');
is assigned(), $carol, 'assigned to Carol, who has no Jira user';
$r = wait_status(last_id(), 'failed');
is $r->{last_error}, 'No matching Jira Server user found',
   "failed with Sentry's message";
is $r->{attempts}, 1, 'after one attempt: not retried';
is_deeply [map { $_->{query} } $jira->requests('user_assignable')],
          ['issueKey=OPS-7&username=carol%40example.com'], 'one search';
is scalar $jira->requests('issue_assignee'), 0, 'no PUT';
like $t->error_log,
     qr/outbound-failed id=$r->{id} .* error="No matching Jira Server user/,
     'logged';

# the user's other verified addresses are searched too, primary first;
# unverified ones are not
my $dave = $t->user($s, email => 'dave@example.com',
                    emails => [['d.smith@corp.example', 1],
                               ['dave@unverified.example', 0]]);
$jira->add_user(key => 'JIRAUSER10004', name => 'dsmith',
                email => 'D.Smith@corp.example');
$jira->add_user(key => 'JIRAUSER10005', name => 'dave-unverified',
                email => 'dave@unverified.example');
$jira->reset_requests;
from_a('dave@example.com');
$r = wait_status(last_id(), 'done');
is_deeply [map { $_->{query} } $jira->requests('user_assignable')],
          ['issueKey=OPS-7&username=dave%40example.com',
           'issueKey=OPS-7&username=d.smith%40corp.example'],
          'searched by the primary address, then the other verified one';
is_deeply [map { $_->{body} } $jira->requests('issue_assignee')],
          ['{"name": "dsmith"}'], 'assigned to the match';
is $r->{jira_user}, 'dsmith', 'recorded';

# --- Jira refuses -----------------------------------------------------------

$jira->respond(issue_assignee => { status => 400, json => {
    errorMessages => [], errors => {
        assignee => "User 'ajones' cannot be assigned issues." } } });
from_a('alice@example.com');
$r = wait_status(last_id(), 'failed');
is $r->{last_error}, 'Failed to assign user to Jira Server issue: 400'
   . ' {"errorMessages":[],"errors":{"assignee":"User \'ajones\' cannot be'
   . ' assigned issues."}}', '400: failed with Jira\'s answer';
is $r->{attempts}, 1, '400: not retried';

# a Jira that echoes the Authorization header: the PAT is redacted
$t->mark_log;
$jira->respond(issue_assignee => { status => 401,
                                   echo_authorization => 1 });
from_a(undef);
$r = wait_for('401 retried', sub {
    my $x = row(last_id()); $x->{attempts} >= 2 ? $x : undef });
is $r->{status}, 'pending', '401: retried';
like $r->{last_error}, qr/^\QInsufficient permissions to assign user to\E
                          \ \QJira Server issue: 401 \E.*
                          \QRejected: Bearer [redacted]\E/x,
     '401: Sentry\'s message, Jira\'s answer with the PAT redacted';
unlike $r->{last_error}, qr/\Q$pat\E/, 'the PAT is not stored';
like $t->log_since, qr/outbound-retry id=$r->{id} /, 'retry logged';
unlike $t->error_log, qr/\Q$pat\E/, 'the PAT is never logged';
$jira->clear_responses;
$r = wait_status($r->{id}, 'done');
is_deeply [($jira->assignments)[-1]], [{ key => 'OPS-7', name => undef }],
          'delivered once Jira accepts it';

# --- metrics ----------------------------------------------------------------

sub metrics {
    my $res = $t->http('GET', '/metrics');
    my %m;
    for (split /\n/, $res->{content} // '') {
        $m{$1} = $2 if /^([a-z_]+) (\S+)$/;
    }
    return ($res, \%m);
}

wait_for('settled', sub { !$t->value("SELECT count(*) FROM assignee_outbox"
                                     . " WHERE status = 'pending'") });
my ($res, $m) = metrics();
is $res->{status}, 200, 'metrics: 200';
is $res->{headers}{'content-type'}, 'text/plain; version=0.0.4;'
   . ' charset=utf-8', 'metrics: Prometheus text';
like $res->{content}, qr/^# TYPE jira_sync_outbox_pending gauge$/m,
     'metrics: typed';
is $m->{jira_sync_database_up}, 1, 'database up';
is $m->{jira_sync_outbox_pending}, 0, 'depth 0 once settled';
my %count = map { $_->{status} => $_->{n} } @{ $t->rows(
    'SELECT status, count(*) AS n FROM assignee_outbox GROUP BY status') };
is $m->{jira_sync_outbox_failed}, $count{failed}, 'failed rows';
is $m->{jira_sync_outbox_dead}, 0, 'no dead rows';
# every delivery and retry so far was made by this node's two workers
is $m->{jira_sync_outbox_deliveries_total}, $count{done},
   'deliveries counted across workers';
is $m->{jira_sync_outbox_failed_total}, $count{failed}, 'failures counted';
is $m->{jira_sync_outbox_skipped_total}, $count{skipped}, 'skips counted';
my $retries = $t->value("SELECT sum(attempts - CASE WHEN status IN ('done',"
                        . " 'failed', 'dead') THEN 1 ELSE 0 END)"
                        . ' FROM assignee_outbox');
is $m->{jira_sync_outbox_retries_total}, $retries, 'retries counted';
ok $m->{jira_sync_outbox_passes_total} > 0, 'drain passes counted';

# depth while Jira is away
$jira->respond(issue_assignee => 'unavailable',
               user_assignable => 'unavailable');
from_a('bob@example.com');
wait_for('a failed attempt', sub { row(last_id())->{attempts} >= 1 });
(undef, $m) = metrics();
is $m->{jira_sync_outbox_pending}, 1, 'depth 1 while Jira is away';
ok $m->{jira_sync_outbox_oldest_pending_seconds} >= 0, 'oldest age';
$jira->clear_responses;
wait_status(last_id(), 'done');
(undef, $m) = metrics();
is $m->{jira_sync_outbox_pending}, 0, 'depth 0 when it is back';

$res = $t->http('POST', '/metrics', body => '');
is $res->{status}, 405, 'metrics: POST is 405';
is $res->{headers}{allow}, 'GET, HEAD', 'Allow';

# --- directives -------------------------------------------------------------

sub conf_check {
    my ($http) = @_;
    my ($ok, $out) = $t->nginx_test_conf($t->nginx_conf(http => $http));
    return $ok ? '' : $out;
}

like conf_check('jira_sync_outbox_drain on;'),
     qr/"jira_sync_outbox_drain on" needs "jira_sync_secret_key_file"/,
     'drain without the credentials key: refused';
is conf_check('jira_sync_outbox_drain off;'), '',
   'a node that does not drain needs no key';
like conf_check('jira_sync_outbox_backoff 5s 1s;'),
     qr/invalid maximum backoff "1s"/, 'backoff cap below the base';
like conf_check('jira_sync_outbox_backoff 0;'), qr/invalid backoff "0"/,
     'backoff 0';
like conf_check('jira_sync_outbox_batch 0;'), qr/must be between 1 and/,
     'batch 0';
like conf_check('jira_sync_outbox_max_attempts 0;'),
     qr/must be between 1 and/, 'max_attempts 0';
like conf_check('jira_sync_outbox_interval 0;'),
     qr/"jira_sync_outbox_interval" must be more than 0/, 'interval 0';

is_deeply [grep { /\[alert\]|\[emerg\]|exited on signal/ }
           split /\n/, $t->error_log], [], 'no alerts, no crash';

done_testing;
