# GET /api/0/issues/{id}/: bearer-token auth and the assignee cache.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;

my $t = JiraSyncTest->new;
my $s = $t->scenario;
my $alice = $t->user($s, email => 'alice@example.com');
my $bob = $t->user($s, email => 'bob@example.com');
my $token = $t->api_token($alice, 'event:read');

sub issue {
    my ($id, $tok) = @_;
    return $t->http('GET', "/api/0/issues/$id/",
                    headers => { defined $tok
                                 ? (Authorization => "Bearer $tok") : () });
}

sub assign_to {
    my ($email) = @_;
    my $assignee = defined $email ? JiraSyncTest::jira_user($email) : undef;
    my $r = $t->webhook($s->{token}, $t->assign_payload($s->{key},
                                                        $assignee));
    is $r->{status}, 200, 'webhook ' . ($email // 'unassign');
}

# --- authentication and permission ---

my $r = issue($s->{group});
is $r->{status}, 401, 'no token: 401';
is $r->{json}{detail}, 'Authentication credentials were not provided.',
   'no token: detail';

$r = $t->http('GET', "/api/0/issues/$s->{group}/",
              headers => { Authorization => 'Basic dXNlcjpwYXNz' });
is $r->{status}, 401, 'basic auth is not a bearer token';

$r = issue($s->{group}, 'not-a-token');
is $r->{status}, 401, 'unknown token: 401';
is $r->{json}{detail}, 'Invalid token', 'unknown token: detail';

my $expired = $t->api_token($alice, 'event:read');
$t->dbh->do(q{UPDATE api_token SET expires_at = now() - interval '1 hour'
               WHERE id = (SELECT max(id) FROM api_token)});
is issue($s->{group}, $expired)->{status}, 401, 'expired token: 401';

my $ghost = $t->user($s, email => 'ghost@example.com', active => 0);
is issue($s->{group}, $t->api_token($ghost, 'event:read'))->{status}, 401,
   'token of an inactive user: 401';

$r = issue($s->{group}, $t->api_token($alice, 'project:read'));
is $r->{status}, 403, 'token without event:read: 403';
is $r->{json}{detail}, 'You do not have permission to perform this action.',
   'scope: detail';

is issue($s->{group}, $t->api_token($alice, 'event:admin'))->{status}, 200,
   'event:admin grants the read';

$r = issue(99999999, $token);
is $r->{status}, 404, 'unknown group: 404';
is $r->{json}{detail}, 'The requested resource does not exist',
   'unknown group: detail';
is issue('abc', $token)->{status}, 404, 'non-numeric id: 404';

my $other = $t->scenario;
$r = issue($other->{group}, $token);
is $r->{status}, 403, 'group of another organization: 403';

$r = $t->http('POST', "/api/0/issues/$s->{group}/",
              headers => { Authorization => "Bearer $token" }, body => '{}');
is $r->{status}, 405, 'POST: 405';
like $r->{headers}{allow}, qr/GET/, 'POST: Allow header';

is $t->http('GET', '/api/0/nothing/here/',
            headers => { Authorization => "Bearer $token" })->{status},
   404, 'unknown API path: 404';

# --- the issue and its assignee ---

$r = issue($s->{group}, $token);
is $r->{status}, 200, 'read: 200';
like $r->{headers}{'content-type'}, qr{^application/json}, 'JSON';
is $r->{json}{id}, "$s->{group}", 'id is a string';
is $r->{json}{status}, 'unresolved', 'status';
is $r->{json}{project}{id}, "$s->{project}", 'project id';
is $r->{json}{project}{slug}, 'project1', 'project slug';
ok exists $r->{json}{assignedTo} && !defined $r->{json}{assignedTo},
   'assignedTo is null';

assign_to('bob@example.com');
$r = issue($s->{group}, $token);
is_deeply $r->{json}{assignedTo},
          { type => 'user', id => "$bob", name => 'User 2',
            email => 'bob@example.com' },
          'read right after the webhook shows the new assignee';

# the next read is served from the cache: a user's name changed behind
# the module's back (not part of the rows' version) stays as cached
$t->dbh->do('UPDATE app_user SET name = ? WHERE id = ?', undef,
            'Renamed', $bob);
is issue($s->{group}, $token)->{json}{assignedTo}{name}, 'User 2',
   'a cached read does not read the answer again';

# but an assignee changed directly in PostgreSQL, as another node would
# change it, is seen at once: every read checks the rows' version
$t->dbh->do('UPDATE group_assignee SET user_id = ? WHERE group_id = ?',
            undef, $alice, $s->{group});
is issue($s->{group}, $token)->{json}{assignedTo}{id}, "$alice",
   'a change made elsewhere is never hidden by the cache';
$t->dbh->do('DELETE FROM group_assignee WHERE group_id = ?', undef,
            $s->{group});
ok !defined issue($s->{group}, $token)->{json}{assignedTo},
   'nor is a removal';
$t->dbh->do(q{UPDATE project SET name = 'Moved' WHERE id = ?}, undef,
            $s->{project});
is issue($s->{group}, $token)->{json}{project}{name}, 'Moved',
   'nor a project renamed elsewhere';

assign_to('bob@example.com');
is issue($s->{group}, $token)->{json}{assignedTo}{id}, "$bob",
   'reassignment through a webhook is seen';

assign_to(undef);
$r = issue($s->{group}, $token);
ok !defined $r->{json}{assignedTo}, 'unassign invalidates the cache';

# many reads and writes interleaved never show a stale assignee
for my $i (1 .. 10) {
    my ($email, $id) = $i % 2 ? ('alice@example.com', $alice)
                              : ('bob@example.com', $bob);
    assign_to($email);
    is issue($s->{group}, $token)->{json}{assignedTo}{id}, "$id",
       "round $i: read after webhook";
}

# a team assignee (set by SQL, as Sentry's UI would) reads as a team
my $g = $t->group($s);
$t->dbh->do('INSERT INTO group_assignee (project_id, group_id, team_id)'
            . ' VALUES (?, ?, ?)', undef, $s->{project}, $g, $s->{team});
is_deeply issue($g, $token)->{json}{assignedTo},
          { type => 'team', id => "$s->{team}", name => 'team1' },
          'team assignee';

# a cache that is off still answers from PostgreSQL
my $nc = JiraSyncTest->new(nginx => { zone => undef });
my $ns = $nc->scenario;
my $nu = $nc->user($ns, email => 'carol@example.com');
my $ntok = $nc->api_token($nu, 'event:read');
$nc->webhook($ns->{token}, $nc->assign_payload($ns->{key},
             JiraSyncTest::jira_user('carol@example.com')));
$r = $nc->http('GET', "/api/0/issues/$ns->{group}/",
               headers => { Authorization => "Bearer $ntok" });
is $r->{json}{assignedTo}{id}, "$nu", 'without jira_sync_zone';

done_testing;
