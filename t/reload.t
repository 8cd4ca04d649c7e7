# nginx reloads while webhooks keep arriving: no worker crashes (at exit
# the pool threads' connections are closed without running module code
# from a thread after the module is unloaded), no webhook lost or applied
# twice.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;
use POSIX qw(_exit);
use Time::HiRes qw(sleep);

my $t = JiraSyncTest->new(nginx => { workers => 2, threads => 4 });
my $s = $t->scenario;
my @emails = map { "user$_\@example.com" } 1 .. 2;
$t->user($s, email => $_) for @emails;

# sender processes: each sends its webhooks one after the other and
# counts the answers
my $per = 40;
my @kids;
for my $k (0 .. 3) {
    pipe my $r, my $w or die;
    my $pid = fork // die;
    if ($pid == 0) {
        close $r;
        my %n;
        for my $i (1 .. $per) {
            my $g = JiraSyncTest::jira_user($emails[($k + $i) % 2]);
            my $res = $t->webhook($s->{token},
                                  $t->assign_payload($s->{key}, $g));
            $n{$res->{status}}++;
        }
        print $w join(" ", %n), "\n";
        close $w;
        _exit(0);
    }
    close $w;
    push @kids, [$pid, $r];
}

for (1 .. 5) {
    sleep 0.3;
    $t->reload_nginx;
}

my %status;
for my $kid (@kids) {
    my ($pid, $r) = @$kid;
    my %n = split ' ', scalar <$r>;
    $status{$_} += $n{$_} for keys %n;
    waitpid $pid, 0;
}

is $status{200} // 0, 4 * $per, 'every webhook answered 200 across reloads'
    or diag explain \%status;

# each 200 that changed the assignee left exactly one ASSIGNED activity:
# replaying them ends at the row, with no repeat of the same assignee
my $acts = $t->rows('SELECT data FROM activity WHERE group_id = ?'
                    . ' AND type = 11 ORDER BY id', $s->{group});
my ($prev, $repeats) = (undef, 0);
for my $a (@$acts) {
    my $d = JiraSyncTest::json_decode($a->{data});
    $repeats++ if defined $prev && $prev eq $d->{assignee};
    $prev = $d->{assignee};
}
is $repeats, 0, 'no change applied twice';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $prev, 'the last change is the row';

my $log = $t->error_log;
unlike $log, qr/exited on signal/, 'no worker crashed';
unlike $log, qr/\[alert\]/, 'no alerts';
like $log, qr/reconfiguring/, 'nginx did reload';

done_testing;
