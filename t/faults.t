# Faults under load: PostgreSQL restarted while webhooks arrive, clients
# that go away mid-request, clients that send their body slowly.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use IO::Handle;
use IO::Socket::INET;
use JiraSyncTest;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);

my $t = JiraSyncTest->new(nginx => { workers => 2, threads => 4 });
my $s = $t->scenario;
my @emails = map { "user$_\@example.com" } 1 .. 2;
$t->user($s, email => $_) for @emails;

sub payload {
    my ($i) = @_;
    return $t->assign_payload($s->{key},
                              JiraSyncTest::jira_user($emails[$i % 2]));
}

# --- PostgreSQL stopped and started again under load ---

my $stop_at = time + 0.5;
my $until = time + 4;
pipe my $r, my $w or die;
my @kids;
for my $k (0 .. 2) {
    my $pid = fork // die;
    if ($pid == 0) {
        close $r;
        $w->autoflush(1);       # one write per line: lines stay whole
        my $i = $k;
        while (time < $until) {
            my $res = $t->webhook($s->{token}, payload($i++), timeout => 10);
            printf $w "%d %.3f\n", $res->{status}, time;
        }
        close $w;
        _exit(0);
    }
    push @kids, $pid;
}
close $w;

sleep 0.5;
$t->stop_pg;
sleep 1;
my $started = time;
$t->start_pg;

my @answers = map { [split] } <$r>;
waitpid $_, 0 for @kids;

my %status;
$status{$_->[0]}++ for @answers;
ok $status{503}, 'webhooks answered 503 while PostgreSQL was down';
ok !grep({ $_ != 200 && $_ != 503 } keys %status),
   'every answer was 200 or 503' or diag explain \%status;
my ($first_ok) = sort { $a <=> $b }
                 map { $_->[1] } grep { $_->[0] == 200 && $_->[1] > $started }
                 @answers;
ok defined $first_ok, 'webhooks succeeded again after the restart';
diag sprintf 'first success %.2f s after PostgreSQL was started',
     $first_ok - $started if defined $first_ok;

unlike $t->error_log, qr/exited on signal/, 'no worker crashed';

# all-or-nothing: every ASSIGNED activity has its history row, and the
# activity log replays to the assignee row
my $acts = $t->value('SELECT count(*) FROM activity WHERE group_id = ?',
                     $s->{group});
my $hist = $t->value('SELECT count(*) FROM group_history WHERE group_id = ?',
                     $s->{group});
is $hist, $acts, 'no partial effects: one history row per activity';
my $last = $t->value(q{SELECT (data->>'assignee')::bigint FROM activity
                        WHERE group_id = ? ORDER BY id DESC LIMIT 1},
                     $s->{group});
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $last, 'the last recorded change is the row';

# --- a client that goes away while its webhook is on the pool ---

my $lock = DBI->connect("dbi:Pg:dbname=jira_sync;host=127.0.0.1;port="
                        . $t->{pgport}, 'postgres', '',
                        { RaiseError => 1, AutoCommit => 0 });
$lock->do('SELECT 1 FROM jira_sync.issue_group WHERE id = ? FOR UPDATE',
          undef, $s->{group});

my $before = $t->value('SELECT user_id FROM group_assignee'
                       . ' WHERE group_id = ?', $s->{group});
my $want = $before == 1 ? 1 : 0;    # the other user's index
my $other = $t->value('SELECT id FROM app_user WHERE email = ?',
                      $emails[$want]);

my $res = $t->webhook($s->{token}, payload($want), timeout => 1);
is $res->{status}, 599, 'the client gave up while the webhook waited';

$lock->rollback;
$lock->disconnect;

my $applied;
for (1 .. 50) {
    $applied = $t->value('SELECT user_id FROM group_assignee'
                         . ' WHERE group_id = ?', $s->{group});
    last if $applied == $other;
    sleep 0.1;
}
is $applied, $other, 'the received webhook was still applied';
is $t->webhook($s->{token}, payload($want + 1))->{status}, 200,
   'the worker serves the next request';
like $t->error_log, qr/499|client prematurely closed|closed/,
     'the gone client is noticed';

# --- a client that sends its body slowly does not hold others up ---

my $slow = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$t->{port}")
    or die;
print $slow "POST /extensions/jira-server/issue-updated/$s->{token}/"
          . " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          . "Content-Length: 1000\r\n\r\n{\"changelog\":";
$slow->flush;

is $t->webhook($s->{token}, payload(0))->{status}, 200,
   'another webhook is served while a body trickles in';
close $slow;

unlike $t->error_log, qr/exited on signal|\[alert\]/,
       'no crash and no alert at the end';

done_testing;
