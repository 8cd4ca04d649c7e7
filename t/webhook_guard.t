# Repeated and out-of-order deliveries: a changelog is applied once per
# integration, and an assignee change older than the last one applied to
# the external issue is dropped, per organization.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;
use POSIX qw(_exit);

my $t = JiraSyncTest->new(nginx => { workers => 2 });

sub payload {
    my ($s, $email, %o) = @_;
    my $assignee = defined $email ? JiraSyncTest::jira_user($email) : undef;
    my %fields = defined $o{updated} ? (fields => { updated => $o{updated} })
                                     : ();
    my $p = $t->assign_payload($s->{key}, $assignee, %fields,
                               (defined $o{id} ? (changelog_id => $o{id})
                                               : ()));
    $p->{timestamp} = $o{timestamp} if exists $o{timestamp};
    return $p;
}

sub assignee { $t->value('SELECT user_id FROM group_assignee'
                         . ' WHERE group_id = ?', $_[0]{group}) }
sub activities { $t->value('SELECT count(*) FROM activity'
                           . ' WHERE group_id = ?', $_[0]{group}) }

# --- the same delivery twice ---

{
    my $s = $t->scenario;
    my $alice = $t->user($s, email => 'alice@example.com');
    my $bob = $t->user($s, email => 'bob@example.com');

    my $first = payload($s, 'alice@example.com', id => '10001');
    is $t->webhook($s->{token}, $first)->{status}, 200, 'a change';
    is $t->webhook($s->{token}, payload($s, 'bob@example.com',
                                        id => '10002'))->{status}, 200,
       'the next change';
    is assignee($s), $bob, 'applied in turn';

    $t->mark_log;
    my $r = $t->webhook($s->{token}, $first);
    is $r->{status}, 200, 'the first delivered again: acknowledged';
    is $r->{content}, '', 'with an empty body';
    is assignee($s), $bob, 'and not applied again';
    is activities($s), 2, 'no activity for it';
    like $t->log_since,
         qr/duplicate-delivery\ integration_id=\d+\ issue_key="APP-1"
            \ changelog_id="10001"/x, 'logged as a duplicate';

    # a numeric changelog id is the same change as its string form
    my $num = payload($s, 'alice@example.com');
    $num->{changelog}{id} = 10002;
    $t->webhook($s->{token}, $num);
    is assignee($s), $bob, 'id 10002 as a number is the same delivery';

    # twelve copies at once: applied once
    my $copy = payload($s, 'alice@example.com', id => '10003');
    my @kids;
    for (1 .. 12) {
        my $pid = fork // die;
        if ($pid == 0) {
            _exit($t->webhook($s->{token}, $copy)->{status} == 200 ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $bad = 0;
    for (@kids) { waitpid $_, 0; $bad++ if $? }
    is $bad, 0, 'twelve simultaneous copies: all 200';
    is assignee($s), $alice, 'applied';
    is activities($s), 3, 'once';
}

# --- a delivery whose transaction failed is not remembered ---

{
    my $s = $t->scenario;
    my $bob = $t->user($s, email => 'bob@example.com');
    my $p = payload($s, 'bob@example.com', id => '20001');

    $t->dbh->do(q{CREATE FUNCTION jira_sync.fail() RETURNS trigger
                  LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'injected';
                  END$$});
    $t->dbh->do('CREATE TRIGGER fail BEFORE INSERT ON jira_sync.activity'
                . ' FOR EACH ROW EXECUTE FUNCTION jira_sync.fail()');
    is $t->webhook($s->{token}, $p)->{status}, 500, 'a failure: 500';
    $t->dbh->do('DROP TRIGGER fail ON jira_sync.activity');
    $t->dbh->do('DROP FUNCTION jira_sync.fail()');

    is $t->webhook($s->{token}, $p)->{status}, 200, 'redelivered';
    is assignee($s), $bob, 'and applied: the failed one left no trace';
}

# --- out of order ---

{
    my $s = $t->scenario;
    my $alice = $t->user($s, email => 'alice@example.com');
    my $bob = $t->user($s, email => 'bob@example.com');

    $t->webhook($s->{token}, payload($s, 'bob@example.com',
                                     updated => '2024-05-01T10:00:00.000+0000'));
    is assignee($s), $bob, 'the newer change arrives first';

    $t->mark_log;
    my $r = $t->webhook($s->{token},
                        payload($s, 'alice@example.com',
                                updated => '2024-05-01T09:59:59.999+0000'));
    is $r->{status}, 200, 'an older change: 200';
    is assignee($s), $bob, 'and dropped';
    like $t->log_since, qr/stale-event .* organizations=\{\d+\}/,
         'logged as stale';

    $t->webhook($s->{token}, payload($s, undef,
                                     updated => '2024-05-01T09:00:00.000+0200'));
    is assignee($s), $bob, 'an older unassignment is dropped too';

    $t->webhook($s->{token}, payload($s, 'alice@example.com',
                                     updated => '2024-05-01T12:00:00.000+0200'));
    is assignee($s), $alice, 'the same instant in another zone is applied'
        . ' (only strictly older changes are stale)';

    is $t->value(q{SELECT provider_assignee_updated_at
                     = '2024-05-01T10:00:00Z'::timestamptz
                     FROM external_issue WHERE id = ?}, $s->{external_issue}),
       1, 'the watermark is the newest change';

    # without fields.updated the payload's timestamp counts
    $t->webhook($s->{token}, payload($s, 'bob@example.com',
                                     timestamp => 1714550400000));
    is assignee($s), $alice, 'an older timestamp is stale';
    $t->webhook($s->{token}, payload($s, 'bob@example.com',
                                     timestamp => 1814550400000));
    is assignee($s), $bob, 'a newer timestamp applies';

    # neither: no guard, as Sentry without a time
    $t->webhook($s->{token}, payload($s, 'alice@example.com',
                                     timestamp => undef));
    is assignee($s), $alice, 'no time at all: applied';

    # a malformed updated falls back to the timestamp
    $t->webhook($s->{token}, payload($s, 'bob@example.com',
                                     updated => "yesterday'; --",
                                     timestamp => 1000));
    is assignee($s), $alice, 'a malformed updated: the old timestamp rules';
}

# --- per organization ---

{
    my $a = $t->scenario;
    my $b = $t->scenario(integration => $a->{integration});
    my $ua = $t->user($a, email => 'carol@example.com');
    $t->member($b, $ua);

    $t->dbh->do(q{UPDATE external_issue SET provider_assignee_updated_at =
                    '2030-01-01T00:00:00Z' WHERE id = ?}, undef,
                $a->{external_issue});

    $t->webhook($a->{token}, payload($a, 'carol@example.com',
                                     updated => '2025-01-01T00:00:00.000Z'));
    ok !defined assignee($a), 'the organization with a newer change: kept';
    is assignee($b), $ua, 'the other organization: applied';
}

# --- old deliveries are forgotten ---

{
    my $s = $t->scenario;
    $t->user($s, email => 'dave@example.com');
    $t->dbh->do(q{INSERT INTO webhook_delivery
                    (integration_id, changelog_id, received_at)
                  SELECT ?, 'old-' || n, now() - interval '8 days'
                    FROM generate_series(1, 20) n}, undef,
                $s->{integration});
    $t->webhook($s->{token}, payload($s, 'dave@example.com'));
    is $t->value(q{SELECT count(*) FROM webhook_delivery
                    WHERE integration_id = ? AND changelog_id LIKE 'old-%'},
                 $s->{integration}), 4,
       'a delivery removes up to 16 week-old records';
}

done_testing;
