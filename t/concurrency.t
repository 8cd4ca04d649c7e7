# Concurrent webhooks for one group: one assignee row, and every change
# recorded exactly once.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;
use POSIX qw(_exit);

my $t = JiraSyncTest->new(nginx => { workers => 2, threads => 4 });
my $s = $t->scenario;
my @users = map { $t->user($s, email => "user$_\@example.com") } 1 .. 4;
my $g2 = $t->group($s);

sub burst {
    my (@emails) = @_;
    my @kids;
    for my $email (@emails) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $assignee = defined $email ? JiraSyncTest::jira_user($email)
                                          : undef;
            my $r = $t->webhook($s->{token},
                                $t->assign_payload($s->{key}, $assignee));
            _exit($r->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $failed = 0;
    for (@kids) {
        waitpid $_, 0;
        $failed++ if $?;
    }
    return $failed;
}

# the same assignee from 20 deliveries at once: one row, one activity
is burst(('user1@example.com') x 20), 0, '20 identical deliveries: all 200';
for my $g ($s->{group}, $g2) {
    is $t->value('SELECT count(*) FROM group_assignee WHERE group_id = ?',
                 $g), 1, "group $g: one assignee row";
    is $t->value('SELECT count(*) FROM activity WHERE group_id = ?'
                 . ' AND type = 11', $g), 1,
       "group $g: one ASSIGNED activity";
    is $t->value('SELECT count(*) FROM group_history WHERE group_id = ?'
                 . ' AND status = 5', $g), 1,
       "group $g: one ASSIGNED history row";
    is $t->value('SELECT count(*) FROM group_subscription'
                 . ' WHERE group_id = ?', $g), 1,
       "group $g: one subscription";
}

# different assignees and unassignments racing
my @mix = map { ($_ % 5 == 4) ? undef : "user@{[1 + $_ % 4]}\@example.com" }
          0 .. 39;
is burst(@mix), 0, '40 mixed deliveries: all 200';

for my $g ($s->{group}, $g2) {
    my $rows = $t->value('SELECT count(*) FROM group_assignee'
                         . ' WHERE group_id = ?', $g);
    ok $rows <= 1, "group $g: at most one assignee row";

    # replaying the activity log gives the final state: no lost or
    # doubled change
    my $acts = $t->rows('SELECT type, data FROM activity WHERE group_id = ?'
                        . ' ORDER BY id', $g);
    my $current;
    my $consistent = 1;
    for my $a (@$acts) {
        if ($a->{type} == 11) {
            my $d = JiraSyncTest::json_decode($a->{data});
            $consistent = 0 if defined $current && $current eq $d->{assignee};
            $current = $d->{assignee};
        } else {
            $consistent = 0 unless defined $current;
            undef $current;
        }
    }
    ok $consistent, "group $g: every activity is a real change";
    my $final = $t->value('SELECT user_id FROM group_assignee'
                          . ' WHERE group_id = ?', $g);
    is $final, $current, "group $g: the activity log ends at the row";

    my $hist = $t->value('SELECT count(*) FROM group_history'
                         . ' WHERE group_id = ?', $g);
    is $hist, scalar @$acts, "group $g: one history row per activity";

    my $subs = $t->value('SELECT count(*) FROM group_subscription'
                         . ' WHERE group_id = ? AND reason = 2'
                         . ' AND user_id IS DISTINCT FROM ?', $g, $final);
    is $subs, 0, "group $g: only the assignee keeps an assigned subscription";
}

done_testing;
