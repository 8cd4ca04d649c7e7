# Hostile input: SQL metacharacters wherever input reaches SQL, forged
# and oversized tokens.  Every value travels as a parameter, so nothing
# here may change a row it should not, or fail with a 500.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest qw(jwt b64url);

my $t = JiraSyncTest->new;
my $s = $t->scenario;
my $bob = $t->user($s, email => 'bob@example.com');
my $api = $t->api_token($bob, 'event:read');

my @evil = ("'; DROP TABLE jira_sync.group_assignee; --",
            q{" OR 1=1 --}, q{\\'; SELECT pg_sleep(10); --},
            "APP-1' OR key LIKE '%", "%", "_", "\\x00", "\$1", ":ext");

my $tables = $t->value(q{SELECT count(*) FROM pg_tables
                          WHERE schemaname = 'jira_sync'});

for my $v (@evil) {
    # as the issue key: nothing is linked to it
    my $r = $t->webhook($s->{token}, $t->assign_payload($v,
                        JiraSyncTest::jira_user('bob@example.com')));
    is $r->{status}, 200, "issue key \Q$v\E: 200";

    # as the assignee's email: nobody has it
    $r = $t->webhook($s->{token}, $t->assign_payload($s->{key},
                     JiraSyncTest::jira_user($v)));
    is $r->{status}, 200, "email \Q$v\E: 200";

    # as the token's id: no integration has it
    $r = $t->webhook(jwt({ id => $v }, 'x'), {});
    is $r->{status}, 400, "external id \Q$v\E: 400";
    is $r->{json}{detail}, 'Could not find integration for token',
       "external id \Q$v\E: not found";

    # as a bearer token
    $r = $t->http('GET', "/api/0/issues/$s->{group}/",
                  headers => { Authorization => "Bearer $v" });
    is $r->{status}, 401, "bearer \Q$v\E: 401";
}

ok !$t->value('SELECT count(*) FROM group_assignee'),
   'no group was assigned by any of it';
is $t->value(q{SELECT count(*) FROM pg_tables
                WHERE schemaname = 'jira_sync'}), $tables,
   'every table is still there';

# a LIKE pattern in the key must not match the real key
$t->webhook($s->{token}, $t->assign_payload('APP-%',
            JiraSyncTest::jira_user('bob@example.com')));
ok !$t->value('SELECT count(*) FROM group_assignee'),
   'the key is compared exactly';

# --- forged tokens ---

my $claims = b64url(qq({"id":"$s->{external_id}"}));
my %forged = (
    'alg none, no signature'  =>
        b64url('{"alg":"none","typ":"JWT"}') . ".$claims.",
    'alg none with the real signature' =>
        b64url('{"alg":"none"}') . ".$claims." . (split /\./, $s->{token})[2],
    'alg HS256 lower case' =>
        jwt({ id => $s->{external_id} }, $s->{secret},
            header => '{"alg":"hs256","typ":"JWT"}'),
    'RS256 header, HMAC signature (alg confusion)' =>
        jwt({ id => $s->{external_id} }, $s->{secret},
            header => '{"alg":"RS256","typ":"JWT"}'),
    'ES256 header' =>
        jwt({ id => $s->{external_id} }, $s->{secret},
            header => '{"alg":"ES256","typ":"JWT"}'),
    'a padded signature' => "$s->{token}=",
    'a truncated signature' => substr($s->{token}, 0, -1),
    'the header changed' =>
        b64url('{"typ":"JWT","alg":"HS256"}') . '.'
        . join('.', (split /\./, $s->{token})[1, 2]),
);

for my $name (sort keys %forged) {
    my $r = $t->webhook($forged{$name}, $t->assign_payload($s->{key},
                        JiraSyncTest::jira_user('bob@example.com')));
    is $r->{status}, 400, "$name: 400";
}
ok !$t->value('SELECT count(*) FROM group_assignee'),
   'no forged token assigned anything';

# a huge token is refused before anything is decoded
my $huge = 'a' x 2500 . '.' . 'b' x 2500 . '.' . 'c' x 43;
my $r = $t->webhook($huge, {});
is $r->{status}, 400, 'a 5 KB token: 400';
is $r->{json}{detail}, 'Could not decode JWT token', 'and not decoded';

# longer still, nginx itself refuses the request line
is $t->webhook('a' x 5000 . '.' . 'b' x 5000 . '.' . 'c' x 43, {})->{status},
   414, 'a 10 KB token: nginx answers 414';

# the genuine token still works
is $t->webhook($s->{token}, $t->assign_payload($s->{key},
               JiraSyncTest::jira_user('bob@example.com')))->{status}, 200,
   'the genuine token is accepted';
is $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
             $s->{group}), $bob, 'and assigns';

done_testing;
