# Projects: create with a generated or explicit slug, rename, the
# validation messages, the token checks (docs/projects.md).

use strict;
use warnings;
use utf8;

use lib 't/lib';
use Encode qw(encode_utf8);
use JSON::PP;
use Test::More;
use Time::Local qw(timegm);
use JiraSyncTest;

my $JSON = JSON::PP->new->canonical->utf8->allow_nonref;
my $ALPHABET = qr/[a-z0-79]/;    # Sentry's suffix characters: no '8'

my $t = JiraSyncTest->new;
my $s = $t->scenario;                         # org1, team1, project1
my $other = $t->scenario;                     # org2, team2, project2
my $admin = $t->user($s, email => 'admin@example.com');
my $tok = $t->api_token($admin, 'project:admin');

sub call {
    my ($method, $path, $body, $token) = @_;
    my %h = ('Content-Type' => 'application/json');
    $h{Authorization} = "Bearer $token" if defined $token;
    return $t->http($method, $path, headers => \%h,
                    (defined $body
                     ? (body => ref $body ? $JSON->encode($body) : $body)
                     : ()));
}

sub create {
    my ($body, %o) = @_;
    return call('POST', '/api/0/teams/' . ($o{org} // 'org1') . '/'
                        . ($o{team} // 'team1') . '/projects/',
                $body, exists $o{token} ? $o{token} : $tok);
}

sub update {
    my ($slug, $body, %o) = @_;
    return call('PUT', '/api/0/projects/' . ($o{org} // 'org1')
                       . "/$slug/", $body,
                exists $o{token} ? $o{token} : $tok);
}

sub count_projects {
    return $t->value('SELECT count(*) FROM project');
}

sub hex12 {
    my ($slug) = @_;
    # uuid4().hex[:12]; an all-digit one is suffixed like any number
    return $slug =~ /^[0-9a-f]{12}$/ && $slug =~ /[a-f]/
        || $slug =~ /^[0-9]{12}-$ALPHABET{2,}$/;
}

# --- authentication and permission (nothing is written) ---

my $before = count_projects();

my $r = create({ name => 'Nope' }, token => undef);
is $r->{status}, 401, 'create without a token: 401';
is $r->{json}{detail}, 'Authentication credentials were not provided.',
   'create without a token: detail';

$r = create({ name => 'Nope' }, token => 'tok_unknown');
is $r->{status}, 401, 'create with an unknown token: 401';
is $r->{json}{detail}, 'Invalid token', 'unknown token: detail';

for my $scope (qw(project:read project:write org:admin event:admin)) {
    $r = create({ name => 'Nope' }, token => $t->api_token($admin, $scope));
    is $r->{status}, 403, "create with only $scope: 403";
    is $r->{json}{detail},
       'You do not have permission to perform this action.',
       "$scope: detail";
}

my $stranger = $t->user($other, email => 'stranger@example.com');
$r = create({ name => 'Nope' },
            token => $t->api_token($stranger, 'project:admin'));
is $r->{status}, 403, 'create in an organization the user is not in: 403';

my $expired = $t->api_token($admin, 'project:admin');
$t->dbh->do(q{UPDATE api_token SET expires_at = now() - interval '1 s'
               WHERE id = (SELECT max(id) FROM api_token)});
is create({ name => 'Nope' }, token => $expired)->{status}, 401,
   'create with an expired token: 401';

$r = create({ name => 'Nope' }, org => 'no-such-org');
is $r->{status}, 404, 'unknown organization: 404';
is $r->{json}{detail}, 'The requested resource does not exist',
   'unknown organization: detail';

$r = create({ name => 'Nope' }, team => 'no-such-team');
is $r->{status}, 404, 'unknown team: 404';
is $r->{json}{detail}, 'The requested resource does not exist',
   'unknown team: detail';

$r = create({ name => 'Nope' }, team => 'team2');
is $r->{status}, 404, "another organization's team: 404";

$r = create('{not json', team => 'no-such-team');
is $r->{status}, 404, 'unknown team is found before the body is read';

$r = update('project1', { name => 'Nope' }, token => undef);
is $r->{status}, 401, 'rename without a token: 401';
$r = update('project1', { name => 'Nope' },
            token => $t->api_token($admin, 'project:write'));
is $r->{status}, 403, 'rename with project:write: 403';
$r = update('project2', { name => 'Nope' }, org => 'org2');
is $r->{status}, 403, 'rename in another organization: 403';
$r = update('no-such-project', { name => 'Nope' });
is $r->{status}, 404, 'rename an unknown project: 404';
is $r->{json}{detail}, 'The requested resource does not exist',
   'unknown project: detail';
$r = update('project2', { name => 'Nope' });
is $r->{status}, 404, "another organization's project by slug: 404";
$r = update('no-such-project', '{bad');
is $r->{status}, 404, 'unknown project is found before the body is read';

is count_projects(), $before, 'no refused call wrote a project';
is $t->value('SELECT name FROM project WHERE id = ?', $s->{project}),
   'Project 1', 'no refused call renamed a project';

$r = call('GET', '/api/0/teams/org1/team1/projects/', undef, $tok);
is $r->{status}, 405, 'GET on the team projects: 405';
like $r->{headers}{allow}, qr/\bPOST\b/, 'Allow: POST';

$r = call('POST', '/api/0/projects/org1/project1/', '{}', $tok);
is $r->{status}, 405, 'POST on a project: 405';
like $r->{headers}{allow}, qr/PUT, DELETE/, 'Allow: PUT, DELETE';

# --- create: the answer and the rows ---

my $t0 = time;
$r = create({ name => 'My First Project' });
is $r->{status}, 201, 'create: 201';
like $r->{headers}{'content-type'}, qr{^application/json}, 'create: JSON';
my $p = $r->{json};
is_deeply [sort keys %$p], [qw(dateCreated id name slug)],
          'create: id, slug, name, dateCreated';
ok !ref $p->{id} && $r->{content} =~ /"id":"\d+"/, 'id is a string';
is $p->{slug}, 'my-first-project', 'slug from the name';
is $p->{name}, 'My First Project', 'name';
like $p->{dateCreated},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
     'dateCreated: ISO 8601, microseconds, Z';

my $row = $t->rows('SELECT organization_id, slug, name, status,'
                   . ' extract(epoch FROM date_added) AS epoch'
                   . ' FROM project WHERE id = ?', $p->{id})->[0];
ok $row, 'the row exists under the answered id';
is $row->{organization_id}, $s->{org}, 'row: organization';
is $row->{slug}, 'my-first-project', 'row: slug';
is $row->{name}, 'My First Project', 'row: name';
is $row->{status}, 0, 'row: active';

my ($Y, $M, $D, $h, $m, $sec, $us) =
    $p->{dateCreated} =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/;
my $epoch = timegm($sec, $m, $h, $D, $M - 1, $Y) + $us / 1e6;
ok abs($epoch - $row->{epoch}) < 2e-6, 'dateCreated is date_added in UTC';
ok $epoch >= $t0 - 1 && $epoch <= time + 1, 'dateCreated is now';

is $t->value('SELECT count(*) FROM project_team WHERE project_id = ?'
             . ' AND team_id = ?', $p->{id}, $s->{team}), 1,
   'the project is on the team';
is $t->value('SELECT last_value FROM project_id_seq'), $p->{id},
   'without jira_sync_snowflake the id comes from project_id_seq';

$r = create({ name => 'Second' });
is $r->{json}{id}, $p->{id} + 1, 'the next id is the next in the sequence';

# --- generated slugs ---

my @names = (
    [ 'Café Ünïcödé', 'cafe-unicode', 'accents' ],
    [ "  --Hello,  World!--\t", 'hello-world', 'punctuation, hyphen runs' ],
    [ 'İstanbul straße', 'istanbul-strae', 'letters NFKD cannot split' ],
    [ "\x{fb01}le \x{ff30}\x{ff52}\x{ff4f}\x{ff4a}\x{ff45}\x{ff43}\x{ff54}",
      'file-project', 'compatibility forms' ],
    [ "Ünïcödé \x{1f680} Rocket", 'unicode-rocket', 'emoji dropped' ],
    [ 'foo_-_bar', 'foo_-_bar', 'underscores kept inside' ],
    [ 'x' x 80, 'x' x 50, '80 characters cut to 50' ],
    [ ('a' x 49) . ' ' . ('b' x 30), 'a' x 49,
      'a cut that ends in a hyphen loses it' ],
    [ "a\x{a0}b", 'a-b', 'a no-break space separates' ],
);

for my $c (@names) {
    my ($name, $slug, $what) = @$c;
    $r = create({ name => $name });
    is $r->{status}, 201, "$what: 201";
    is $r->{json}{slug}, $slug, "$what: slug $slug";
    (my $trimmed = $name) =~ s/^\s+|\s+$//g;
    is $r->{json}{name}, $trimmed, "$what: name stored trimmed";
    is $t->value('SELECT name FROM project WHERE id = ?', $r->{json}{id}),
       $trimmed, "$what: name in the row";
}

for my $c ([ "\x{65e5}\x{672c}\x{8a9e}\x{30d7}\x{30ed}", 'CJK only' ],
           [ "\x{1f680}\x{1f525}\x{2728}", 'emoji only' ],
           [ 'Settings', 'a reserved word' ],
           [ 'API Keys', 'a reserved word with a hyphen' ],
           [ '!!!---???', 'punctuation only' ]) {
    my ($name, $what) = @$c;
    $r = create({ name => $name });
    is $r->{status}, 201, "$what: 201";
    ok hex12($r->{json}{slug}), "$what: 12 random hex characters"
        or diag $r->{json}{slug};
}

my %hexes;
for (1 .. 5) {
    $hexes{ create({ name => "\x{9879}\x{76ee}" })->{json}{slug} }++;
}
is scalar keys %hexes, 5, 'random slugs differ';

$r = create({ name => '2024' });
is $r->{status}, 201, 'all digits: 201';
like $r->{json}{slug}, qr/^2024-$ALPHABET{2}$/,
     'an all-digit slug always gets a suffix';
$r = create({ name => 42 });
is $r->{status}, 201, 'a number as the name';
is $r->{json}{name}, '42', 'the number becomes text';
like $r->{json}{slug}, qr/^42-$ALPHABET{2}$/, 'and is suffixed';

# --- collisions: Sentry's suffixes, case-insensitive ---

$r = create({ name => 'Backend' });
is $r->{json}{slug}, 'backend', 'first Backend: backend';
$r = create({ name => 'BACKEND' });
like $r->{json}{slug}, qr/^backend-$ALPHABET{2}$/,
     'second Backend: two random characters';
my $second = $r->{json}{slug};
$r = create({ name => 'backend' });
like $r->{json}{slug}, qr/^backend-$ALPHABET{2}$/, 'third: two more';
isnt $r->{json}{slug}, $second, 'third differs from the second';

# a slug in another case, set by SQL, still counts as taken
$t->insert('project', organization_id => $s->{org}, slug => 'FRONTEND',
           name => 'Legacy');
$r = create({ name => 'Frontend' });
like $r->{json}{slug}, qr/^frontend-$ALPHABET{2}$/,
     'FRONTEND taken: frontend is suffixed (iexact)';

# another organization's slugs do not count
$r = create({ name => 'Project 2' });
is $r->{json}{slug}, 'project-2',
   "another organization's project2 does not take project-2";
$t->insert('project', organization_id => $other->{org}, slug => 'shared',
           name => 'Shared');
is create({ name => 'Shared' })->{json}{slug}, 'shared',
   "a slug taken only in another organization is free here";

# every two-character suffix taken: the schedule moves to three
my $chars = [ split //, 'abcdefghijklmnopqrstuvwxyz012345679' ];
$t->dbh->do(q{INSERT INTO project (organization_id, slug, name)
              SELECT ?, 'busy-' || a || b, 'Busy'
                FROM unnest(?::text[]) a, unnest(?::text[]) b},
            undef, $s->{org}, $chars, $chars);
$t->insert('project', organization_id => $s->{org}, slug => 'busy',
           name => 'Busy');
$r = create({ name => 'Busy' });
is $r->{status}, 201, 'all 1225 two-character suffixes taken: 201';
like $r->{json}{slug}, qr/^busy-$ALPHABET{3}$/, 'three characters next';

# all three-character ones too: five
$t->dbh->do(q{INSERT INTO project (organization_id, slug, name)
              SELECT ?, 'full-' || a || b || c, 'Full'
                FROM unnest(?::text[]) a, unnest(?::text[]) b,
                     unnest(?::text[]) c},
            undef, $s->{org}, $chars, $chars, $chars);
$t->dbh->do(q{INSERT INTO project (organization_id, slug, name)
              SELECT ?, 'full-' || a || b, 'Full'
                FROM unnest(?::text[]) a, unnest(?::text[]) b},
            undef, $s->{org}, $chars, $chars);
$t->insert('project', organization_id => $s->{org}, slug => 'full',
           name => 'Full');
$r = create({ name => 'Full' });
is $r->{status}, 201, 'every 2- and 3-character suffix taken: 201';
like $r->{json}{slug}, qr/^full-$ALPHABET{5}$/, 'five characters next';

# a long base is cut so that base, hyphen and suffix fit in 50
$r = create({ name => 'y' x 60 });
is $r->{json}{slug}, 'y' x 50, 'first long name: 50 characters';
$r = create({ name => 'y' x 60 });
like $r->{json}{slug}, qr/^y{47}-$ALPHABET{2}$/,
     'second long name: base[:47] + "-" + 2';

# --- explicit slugs ---

$r = create({ name => 'Custom', slug => 'my-custom_slug' });
is $r->{status}, 201, 'explicit slug: 201';
is $r->{json}{slug}, 'my-custom_slug', 'explicit slug kept';

$before = count_projects();
$r = create({ name => 'Again', slug => 'my-custom_slug' });
is $r->{status}, 409, 'explicit slug taken: 409';
is_deeply $r->{json}, { detail => 'A project with this slug already exists.' },
          'explicit slug taken: detail';
$r = create({ name => 'Again', slug => 'frontend' });
is $r->{status}, 409, 'explicit slug taken in another case (FRONTEND): 409';
is count_projects(), $before, 'a refused slug writes nothing';

$r = create({ name => 'Digits', slug => '2024x' });
is $r->{json}{slug}, '2024x', 'explicit slug with digits and a letter';
$r = create({ name => 'Null slug', slug => undef });
is $r->{status}, 201, 'slug null: 201';
is $r->{json}{slug}, 'null-slug', 'slug null: generated';
$r = create({ name => 'Spaced', slug => "  spaced-slug \n" });
is $r->{json}{slug}, 'spaced-slug', 'explicit slug trimmed';
is create({ name => 'Shared', slug => 'shared' })->{status}, 409,
   'explicit slug taken in this organization: 409';
is create({ name => 'Shared', slug => 'project2' })->{status}, 201,
   "explicit slug taken only in another organization: 201";

# --- validation: DRF's messages, keyed by field ---

my $INVALID = 'Enter a valid slug consisting of lowercase letters, numbers,'
            . ' underscores or hyphens. It cannot be entirely numeric.';

$before = count_projects();

my @bad = (
    [ {}, { name => ['This field is required.'] }, 'no name' ],
    [ { slug => 'abc' }, { name => ['This field is required.'] },
      'slug but no name' ],
    [ { name => undef }, { name => ['This field may not be null.'] },
      'name null' ],
    [ { name => '' }, { name => ['This field may not be blank.'] },
      'name empty' ],
    [ { name => " \t\n " }, { name => ['This field may not be blank.'] },
      'name of spaces' ],
    [ { name => JSON::PP::true }, { name => ['Not a valid string.'] },
      'name true' ],
    [ { name => ['a'] }, { name => ['Not a valid string.'] },
      'name a list' ],
    [ { name => { a => 1 } }, { name => ['Not a valid string.'] },
      'name an object' ],
    [ { name => 'n' x 201 },
      { name => ['Ensure this field has no more than 200 characters.'] },
      'name of 201 characters' ],
    [ { name => "\x{e9}" x 201 },
      { name => ['Ensure this field has no more than 200 characters.'] },
      'name of 201 accented characters' ],
    [ { name => "a\x{0}b" }, { name => ['Null characters are not allowed.'] },
      'name with a NUL' ],
    [ { name => 'settings' },
      { name => ['The name "settings" is reserved and not allowed.'] },
      'reserved name' ],
    [ { name => 'ok', slug => 'Bad Slug' }, { slug => [$INVALID] },
      'slug with capitals and a space' ],
    [ { name => 'ok', slug => '12345' }, { slug => [$INVALID] },
      'slug all digits' ],
    [ { name => 'ok', slug => 123 }, { slug => [$INVALID] },
      'slug a number' ],
    [ { name => 'ok', slug => "caf\x{e9}" }, { slug => [$INVALID] },
      'slug with an accent' ],
    [ { name => 'ok', slug => 'a.b' }, { slug => [$INVALID] },
      'slug with a dot' ],
    [ { name => 'ok', slug => '' },
      { slug => ['This field may not be blank.'] },
      'slug empty' ],
    [ { name => 'ok', slug => JSON::PP::false },
      { slug => ['Not a valid string.'] }, 'slug false' ],
    [ { name => 'ok', slug => 's' x 51 },
      { slug => ['Ensure this field has no more than 50 characters.'] },
      'slug of 51 characters' ],
    [ { name => 'ok', slug => 'S' x 51 },
      { slug => ['Ensure this field has no more than 50 characters.',
                 $INVALID] },
      'slug too long and invalid: both messages' ],
    [ { name => 'ok', slug => 'settings' },
      { slug => ['The slug "settings" is reserved and not allowed.'] },
      'reserved slug' ],
    [ { name => 'ok', slug => 'api-keys' },
      { slug => ['The slug "api-keys" is reserved and not allowed.'] },
      'reserved slug with a hyphen' ],
    [ { name => '', slug => 'A B' },
      { name => ['This field may not be blank.'], slug => [$INVALID] },
      'both fields wrong' ],
    [ [], { non_field_errors =>
                ['Invalid data. Expected a dictionary, but got list.'] },
      'a list' ],
    [ '"text"', { non_field_errors =>
                ['Invalid data. Expected a dictionary, but got str.'] },
      'a string' ],
    [ '12', { non_field_errors =>
                ['Invalid data. Expected a dictionary, but got int.'] },
      'a number' ],
    [ 'null', { non_field_errors => ['No data provided'] }, 'null' ],
);

for my $c (@bad) {
    my ($body, $want, $what) = @$c;
    $r = create($body);
    is $r->{status}, 400, "$what: 400";
    is_deeply $r->{json}, $want, "$what: messages" or diag $r->{content};
}

$r = create('');
is $r->{status}, 400, 'empty body: 400';
is_deeply $r->{json}, { name => ['This field is required.'] },
          'empty body: name required';

$r = create('{"name": "x",');
is $r->{status}, 400, 'broken JSON: 400';
like $r->{json}{detail}, qr/^JSON parse error - /, 'broken JSON: detail';

$r = create("{\"name\": \"\xff\"}");
is $r->{status}, 400, 'invalid UTF-8: 400';

is count_projects(), $before, 'no invalid body wrote a project';

$r = create({ name => "\x{e9}" x 200 });
is $r->{status}, 201, '200 accented characters (400 bytes) are accepted';
is length $r->{json}{name}, 200, 'all 200 stored';
is $r->{json}{slug}, 'e' x 50, 'slug of 200 accented characters';

$r = create({ name => 'Settings ' });
is $r->{status}, 201, 'Settings with a space is no reserved name';
ok hex12($r->{json}{slug}), 'but its slug is reserved: random';

$r = create({ name => 'Extra', slug => 'extra', platform => 'python',
              default_rules => JSON::PP::false });
is $r->{status}, 201, 'fields Sentry also takes are ignored';

# --- rename and change the slug ---

my $proj = create({ name => 'Renamable' })->{json};

$r = update('renamable', { name => '  Renamed Project  ' });
is $r->{status}, 200, 'rename: 200';
is_deeply $r->{json}, { %$proj, name => 'Renamed Project' },
          'rename: new name, same id, slug and date';
is $t->value('SELECT name FROM project WHERE id = ?', $proj->{id}),
   'Renamed Project', 'rename: row';

$r = update('renamable', { slug => 'renamed' });
is $r->{status}, 200, 'new slug: 200';
is $r->{json}{slug}, 'renamed', 'new slug answered';
is $t->value('SELECT slug FROM project WHERE id = ?', $proj->{id}),
   'renamed', 'new slug: row';
is update('renamable', { name => 'x' })->{status}, 404,
   'the old slug no longer finds it';

$r = update('renamed', { name => 'Both', slug => 'both-changed' });
is $r->{status}, 200, 'name and slug at once';
is $r->{json}{name}, 'Both', 'both: name';
is $r->{json}{slug}, 'both-changed', 'both: slug';

$r = update('both-changed', {});
is $r->{status}, 200, 'empty body: 200';
is $r->{json}{slug}, 'both-changed', 'empty body: unchanged';

$r = update('both-changed', { slug => 'both-changed' });
is $r->{status}, 200, 'its own slug again: 200';

$r = update('both-changed', { slug => 'backend' });
is $r->{status}, 409, 'a slug another project has: 409';
is $r->{json}{detail}, 'A project with this slug already exists.',
   'taken slug: detail';
$r = update('both-changed', { slug => 'frontend' });
is $r->{status}, 409, 'a slug another project has in capitals: 409';
is $t->value('SELECT slug FROM project WHERE id = ?', $proj->{id}),
   'both-changed', 'refused renames leave the slug';

for my $c ([ { slug => 'settings' },
             { slug => ['The slug "settings" is reserved and not allowed.'] },
             'reserved' ],
           [ { slug => 'Not Valid' }, { slug => [$INVALID] }, 'invalid' ],
           [ { slug => '777' }, { slug => [$INVALID] }, 'numeric' ],
           [ { slug => undef }, undef, 'null slug' ],
           [ { name => '' }, { name => ['This field may not be blank.'] },
             'blank name' ],
           [ { name => undef }, { name => ['This field may not be null.'] },
             'null name' ],
           [ { name => 'n' x 201 },
             { name => ['Ensure this field has no more than 200 characters.'] },
             'long name' ],
           [ [1], { non_field_errors => [ 'Invalid data. Expected a'
                                          . ' dictionary, but got list.' ] },
             'a list' ]) {
    my ($body, $want, $what) = @$c;
    $r = update('both-changed', $body);
    if (defined $want) {
        is $r->{status}, 400, "rename, $what: 400";
        is_deeply $r->{json}, $want, "rename, $what: messages";
    } else {
        is $r->{status}, 200, "rename, $what: 200, nothing changes";
    }
}

$r = update('both-changed', { name => 'settings' });
is $r->{status}, 200, 'a rename may use a reserved word as the name';

$t->dbh->do('UPDATE project SET status = 2 WHERE id = ?', undef,
            $proj->{id});
is update('both-changed', { name => 'x' })->{status}, 404,
   'a project pending deletion: 404';
$t->dbh->do('UPDATE project SET status = 0 WHERE id = ?', undef,
            $proj->{id});

# a rename reaches cached issue reads, which show the project's slug
my $reader = $t->api_token($admin, 'event:read');
sub issue_slug {
    my $res = call('GET', "/api/0/issues/$s->{group}/", undef, $reader);
    return $res->{json}{project}{slug};
}
is issue_slug(), 'project1', 'issue read shows the project slug';
is issue_slug(), 'project1', 'second read (from the cache)';
$r = update('project1', { slug => 'project-one' });
is $r->{status}, 200, 'rename the issue\'s project';
is issue_slug(), 'project-one', 'the cached issue read shows the new slug';

done_testing;
