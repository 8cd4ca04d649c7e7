# The integration's webhook secret is cached in the shared zone, so that
# tokens are verified without a database round trip; a secret that
# changed elsewhere is picked up within a second of a refused token, and
# one changed by setup on this node at once.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest qw(jwt);
use Time::HiRes qw(sleep);

# secrets read less than a minute ago are trusted to refuse tokens
my $t = JiraSyncTest->new(nginx => { workers => 2,
                                     http => 'jira_sync_secret_recheck 60s;' });
my $s = $t->scenario;
my $bob = $t->user($s, email => 'bob@example.com');
# a new delivery each time: a repeated changelog id is a duplicate
sub assign { $t->assign_payload($s->{key},
                                JiraSyncTest::jira_user('bob@example.com')) }
my $forged = jwt({ id => $s->{external_id} }, 'forged');

is $t->webhook($s->{token}, {})->{status}, 200,
   'a first delivery reads the secret from PostgreSQL';

# with PostgreSQL gone, only a token check that needs no database can
# still answer: both workers share the zone
$t->stop_pg;
for my $i (1 .. 4) {
    my $r = $t->webhook($forged, assign());
    is $r->{status}, 400, "forged token $i refused with the database down";
    is $r->{json}{detail},
       'Could not validate JWT. Got Signature verification failed',
       "forged token $i: Sentry's message";
}
is $t->webhook($s->{token}, {})->{status}, 200,
   'a genuine delivery with nothing to change needs no database either';
is $t->webhook($s->{token}, assign())->{status}, 503,
   'one that changes an assignee does';
$t->start_pg;

my $r;
for (1 .. 30) {
    $r = $t->webhook($s->{token}, assign());
    last if $r->{status} == 200;
    sleep 0.1;
}
is $r->{status}, 200, 'and works again once PostgreSQL is back';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $bob, 'assigned';

# the secret changes behind the module's back (another node's setup);
# with the default recheck of 1 s a refused token goes to the database
$t->reload_nginx(http => '');
my $new = 'c' x 64;
$t->dbh->do(q{UPDATE integration
                 SET metadata = jsonb_set(metadata, '{webhook_secret}',
                                          to_jsonb(?::text))
               WHERE id = ?}, undef, $new, $s->{integration});
my $fresh = jwt({ id => $s->{external_id} }, $new);

is $t->webhook($s->{token}, {})->{status}, 200,
   'the old secret is still cached and trusted to accept';

# but no change is ever applied under a secret that is no longer the
# integration's: the token is checked against PostgreSQL first
# (the check goes with the transaction's first statements, which it
# undoes when it fails)
my $carol = $t->user($s, email => 'carol@example.com');
my $deliveries = sub { $t->value('SELECT count(*) FROM webhook_delivery') };
my ($snap, $n) = ($t->snapshot, $deliveries->());
my $r2 = $t->webhook($s->{token}, $t->assign_payload($s->{key},
                     JiraSyncTest::jira_user('carol@example.com')));
is $r2->{status}, 400, 'a change under the replaced secret: 400';
is $r2->{json}{detail},
   'Could not validate JWT. Got Signature verification failed',
   'with Sentry\'s message';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $bob, 'and not applied';
is_deeply $t->snapshot, $snap, 'no row written';
is $deliveries->(), $n, 'not even the delivery';
sleep 2.1;
is $t->webhook($fresh, {})->{status}, 200,
   'a token under the new secret is checked against the database again';
is $t->webhook($s->{token}, {})->{status}, 400,
   'and the old secret is refused from then on';

# disabled behind the module's back: the cached secret still accepts the
# token, the check in the transaction turns the change away
$t->dbh->do('UPDATE integration SET status = 1 WHERE id = ?', undef,
            $s->{integration});
($snap, $n) = ($t->snapshot, $deliveries->());
$t->mark_log;
is $t->webhook($fresh, $t->assign_payload($s->{key},
               JiraSyncTest::jira_user('carol@example.com')))->{status},
   200, 'a change for an integration disabled since it was cached: 200';
is_deeply $t->snapshot, $snap, 'nothing applied';
is $deliveries->(), $n, 'no delivery recorded';
like $t->log_since, qr/integration-inactive integration_id=$s->{integration}/,
     'logged as ignored';
$t->dbh->do('UPDATE integration SET status = 0 WHERE id = ?', undef,
            $s->{integration});

# an integration replaced under the same name while its id is cached:
# the change goes to the new one
my $s2 = $t->scenario;
my $alice = $t->user($s2, email => 'alice@example.com');
is $t->webhook($s2->{token}, {})->{status}, 200,
   'a second integration\'s secret is cached';

sub replace_integration {
    my ($old_gone) = @_;
    my $i = $t->integration(external_id => $s2->{external_id},
                            secret => $s2->{secret});
    my $s3 = $t->scenario(integration => $i, key => 'NEW-1');
    $t->member($s3, $alice);
    return $s3;
}

sub assign_alice {
    my ($s3, $what) = @_;
    my $payload = $t->assign_payload('NEW-1',
                                     JiraSyncTest::jira_user(
                                         'alice@example.com'));
    my $r = $t->webhook($s2->{token}, $payload);
    is $r->{status}, 200, "$what: 200";
    is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                 $s3->{group}), $alice, "$what: applied to the new one";
    is $t->value('SELECT integration_id FROM webhook_delivery'
                 . ' WHERE changelog_id = ?', $payload->{changelog}{id}),
       $s3->{integration}, "$what: its delivery recorded for the new one";
}

# the old row renamed: the guard first runs for an id that still exists
$t->dbh->do(q{UPDATE integration SET external_id = 'retired:' || id
               WHERE id = ?}, undef, $s2->{integration});
my $s3 = replace_integration();
assign_alice($s3, 'old integration renamed');

# the old row deleted: the guard fails for the id it was given
$t->dbh->do('DELETE FROM integration WHERE id = ?', undef,
            $s3->{integration});
my $s4 = replace_integration();
assign_alice($s4, 'old integration deleted');


done_testing;
