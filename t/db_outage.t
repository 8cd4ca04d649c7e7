# PostgreSQL down, slow, or the thread pool full: 503 with Retry-After,
# nothing half-done, and recovery without restarting nginx.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $t = JiraSyncTest->new(nginx => { threads => 1, max_queue => 2,
                                     db_timeout => '1s', workers => 1 });
my $s = $t->scenario;
my $bob = $t->user($s, email => 'bob@example.com');
my $api = $t->api_token($bob, 'event:read');
# a new delivery each time: a repeated changelog id is a duplicate
sub assign { $t->assign_payload($s->{key},
                                JiraSyncTest::jira_user('bob@example.com')) }
sub unassign { $t->assign_payload($s->{key}, undef) }

sub unavailable {
    my ($r, $name) = @_;
    is $r->{status}, 503, "$name: 503";
    like $r->{headers}{'retry-after'} // '', qr/^\d+$/,
         "$name: Retry-After";
    is $r->{json}{detail}, 'Service temporarily unavailable, retry later.',
       "$name: detail";
}

is $t->webhook($s->{token}, assign())->{status}, 200,
   'works while PostgreSQL is up';
is $t->webhook($s->{token}, unassign())->{status}, 200, 'unassigned again';

# --- PostgreSQL stopped ---

$t->stop_pg;
$t->mark_log;

unavailable($t->webhook($s->{token}, assign()), 'webhook, database down');
unavailable($t->webhook($s->{token}, assign()), 'again, database down');
unavailable($t->http('GET', "/api/0/issues/$s->{group}/",
                     headers => { Authorization => "Bearer $api" }),
            'issue read, database down');
like $t->log_since, qr/jira_sync: could not connect to PostgreSQL/,
     'the outage is logged';

# a malformed token still needs no database
is $t->webhook('garbage', assign())->{status}, 400,
   'token syntax is checked without the database';

$t->start_pg;

my ($r, $tries);
for $tries (1 .. 20) {
    $r = $t->webhook($s->{token}, assign());
    last if $r->{status} == 200;
    sleep 0.1;
}
is $r->{status}, 200, 'webhooks succeed again once PostgreSQL is back';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $bob, 'and are applied';
is $t->value('SELECT count(*) FROM activity WHERE group_id = ?'
             . ' AND type = 11', $s->{group}), 2,
   'the refused deliveries left nothing behind';

# --- PostgreSQL restarted behind idle connections ---

$t->stop_pg;
$t->start_pg;
$r = $t->webhook($s->{token}, unassign());
is $r->{status}, 200, 'first webhook after a restart succeeds (reconnect)';
ok !$t->value('SELECT count(*) FROM group_assignee WHERE group_id = ?',
              $s->{group}), 'and is applied';

# --- a slow database: the statement timeout answers 503 ---

my $lock = DBI->connect("dbi:Pg:dbname=jira_sync;host=127.0.0.1;port="
                        . $t->{pgport}, 'postgres', '',
                        { RaiseError => 1, AutoCommit => 0 });
$lock->do('LOCK TABLE jira_sync.issue_group IN ACCESS EXCLUSIVE MODE');

$t->mark_log;
unavailable($t->webhook($s->{token}, assign()), 'statement timeout');
like $t->log_since, qr/canceling statement due to statement timeout/,
     'the timeout is logged';
ok !$t->value('SELECT count(*) FROM group_assignee WHERE group_id = ?',
              $s->{group}), 'nothing applied';

# --- the pool is full: queue overflow answers 503 at once ---

# one thread, two queue slots: hold the thread with a locked table, fill
# the queue, and the next request is refused
my @kids;
for my $i (1 .. 3) {
    my $pid = fork // die;
    if ($pid == 0) {
        my $res = $t->webhook($s->{token}, assign(), timeout => 20);
        _exit($res->{status} == 503 ? 3 : $res->{status} == 200 ? 2 : 1);
    }
    push @kids, $pid;
    sleep 0.2;
}

$t->mark_log;
$r = $t->webhook($s->{token}, assign());
unavailable($r, 'queue overflow');
like $t->log_since, qr/queue overflow/, 'overflow logged by nginx';

$lock->rollback;
$lock->disconnect;

my %exit;
for my $pid (@kids) {
    waitpid $pid, 0;
    $exit{$? >> 8}++;
}
ok !$exit{1}, 'queued webhooks end in 200 or 503, nothing else';
is $t->value('SELECT count(*) FROM group_assignee WHERE group_id = ?',
             $s->{group}), 1, 'one assignee row';
is $t->webhook($s->{token}, assign())->{status}, 200,
   'the pool serves again';

done_testing;
