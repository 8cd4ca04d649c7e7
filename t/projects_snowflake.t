# Project ids with jira_sync_snowflake on: Sentry's 53-bit layout, the
# per-second counters in PostgreSQL with borrowing, retries on colliding
# ids, and project_id_seq again once the directive is off.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use Time::HiRes qw(sleep);
use JiraSyncTest;

use constant EPOCH => 1659916800;    # 2022-08-08 00:00:00 UTC

my $REGION = 7;

my $t = JiraSyncTest->new(nginx => {
    http => "jira_sync_snowflake on; jira_sync_snowflake_region $REGION;" });
my $s = $t->scenario;
my $filler = $t->scenario;           # org2 holds rows that take up ids
my $admin = $t->user($s, email => 'admin@example.com');
my $tok = $t->api_token($admin, 'project:admin');
my $dbh = $t->dbh;

sub create {
    my ($name) = @_;
    return $t->http('POST', '/api/0/teams/org1/team1/projects/',
                    headers => { Authorization => "Bearer $tok" },
                    body => JiraSyncTest::json_encode({ name => $name }));
}

# version 5 | seconds 32 | region 12 | sequence 4
sub split_id {
    my ($id) = @_;
    return { sequence => $id % 16,
             region => int($id / 16) % 4096,
             time => int($id / 65536) % 4294967296,
             version => int($id / 281474976710656) };
}

sub make_id {
    my ($time, $region, $seq) = @_;
    return 16 * 281474976710656 + $time * 65536 + $region * 16 + $seq;
}

# --- the layout ---

my $before = time - EPOCH;
my $r = create('Snow');
my $after = time - EPOCH;
is $r->{status}, 201, 'create: 201';
like $r->{content}, qr/"id":"\d{16}"/, 'the id is a string of 16 digits';

my $id = $r->{json}{id};
my $p = split_id($id);
is $p->{version}, 16, 'version: msb_0_ordering(1, 5) = 16';
is $p->{region}, $REGION, 'region from jira_sync_snowflake_region';
ok $p->{time} >= $before && $p->{time} <= $after,
   'seconds since 2022-08-08 UTC';
ok $id < 2**53, 'fits in 53 bits';
is $t->value('SELECT id FROM project WHERE slug = ?', 'snow'), $id,
   'the row has the id';
is $t->value('SELECT value FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION, $p->{time}),
   $p->{sequence} + 1, 'the counter of that second counts the id';
is $t->value('SELECT last_value FROM project_id_seq'),
   $t->value('SELECT max(id) FROM project WHERE id < 1000000'),
   'project_id_seq is not used';

# ids of one second count up
my @ids = map { create("Many $_")->{json}{id} } 1 .. 6;
my %seen;
$seen{$_}++ for @ids;
is scalar keys %seen, 6, 'six distinct ids';
my $ordered = 1;
for my $i (1 .. $#ids) {
    my ($a, $b) = (split_id($ids[$i - 1]), split_id($ids[$i]));
    $ordered = 0 if $a->{time} == $b->{time}
                    && $b->{sequence} != $a->{sequence} + 1;
    $ordered = 0 if $b->{region} != $REGION || $b->{version} != 16;
}
ok $ordered, 'within a second the sequence counts up by one';

# --- borrowing from earlier seconds ---

# the current second and the next ones are used up: the id comes from
# the second before them, sequence 0
my $now = time - EPOCH;
$dbh->do(q{INSERT INTO snowflake_sequence (region, stamp, value)
           SELECT ?, s, 16 FROM generate_series(?::bigint, ?::bigint) s
           ON CONFLICT (region, stamp) DO UPDATE SET value = 16},
         undef, $REGION, $now - 1, $now + 30);
$dbh->do('DELETE FROM snowflake_sequence WHERE region = ? AND stamp = ?',
         undef, $REGION, $now - 2);
# old counters: this region's go when a second starts, others stay
$dbh->do('INSERT INTO snowflake_sequence (region, stamp, value)'
         . ' VALUES (?, ?, 3), (?, ?, 3), (?, ?, 3)', undef,
         $REGION, $now - 1000, $REGION, $now - 290, $REGION + 1, $now - 1000);

$r = create('Borrower');
is $r->{status}, 201, 'all of this second taken: 201';
$p = split_id($r->{json}{id});
is $p->{time}, $now - 2, 'borrowed from the latest second with room';
is $p->{sequence}, 0, 'its first sequence';
is $t->value('SELECT value FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION, $now - 2), 1,
   'that second counts one';
ok $t->value('SELECT value FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION, $now - 1) > 16,
   'the full second was tried first (INCR past 16)';
is $t->value('SELECT count(*) FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION, $now - 1000), 0,
   'a counter older than 300 s is deleted when a second starts';
is $t->value('SELECT count(*) FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION, $now - 290), 1,
   'a counter within 300 s stays';
is $t->value('SELECT count(*) FROM snowflake_sequence'
             . ' WHERE region = ? AND stamp = ?', $REGION + 1, $now - 1000),
   1, "another region's counters are its own";

$r = create('Borrower 2');
$p = split_id($r->{json}{id});
is $p->{time}, $now - 2, 'the next id borrows the same second';
is $p->{sequence}, 1, 'with the next sequence';

$dbh->do('DELETE FROM snowflake_sequence');

# --- colliding ids: five tries, then 409 ---

# rows (in another organization) hold every id of this region for two
# minutes around now
$now = time - EPOCH;
$dbh->do(q{INSERT INTO project (id, organization_id, slug, name)
           SELECT ((16::bigint << 32 | s) << 12 | ?) << 4 | q, ?,
                  'taken-' || s || '-' || q, 'Taken'
             FROM generate_series(?::bigint, ?::bigint) s,
                  generate_series(0, 15) q
           ON CONFLICT (id) DO NOTHING},
         undef, $REGION, $filler->{org}, $now - 60, $now + 60);

my $count = $t->value('SELECT count(*) FROM project');
$t->mark_log;
$r = create('Unlucky');
is $r->{status}, 409, 'five colliding ids: 409';
is_deeply $r->{json},
          { detail => 'Max allowed ID retry reached.'
                      . ' Please try again in a second' },
          "Sentry's detail";
is $t->value('SELECT count(*) FROM project'), $count, 'nothing inserted';
is $t->value('SELECT count(*) FROM project_team pt'
             . ' JOIN project p ON p.id = pt.project_id'
             . " WHERE p.name = 'Unlucky'"), 0, 'no team link';
my @tries = $t->log_since =~ /snowflake-collision project_id=(\d+) try=\d/g;
is scalar @tries, 5, 'five ids were tried';
my %distinct;
$distinct{$_}++ for @tries;
is scalar keys %distinct, 5, 'five different ids';
ok !(grep { split_id($_)->{region} != $REGION } @tries),
   'all in this region';

# sequence 2 free in every second: the third try finds it.  Wait for a
# second none of this test's projects has ids in.
my $last = split_id($t->value('SELECT max(id) FROM project'
                              . ' WHERE organization_id = ?', $s->{org}))
           ->{time};
sleep 0.1 while time - EPOCH <= $last;
$dbh->do('DELETE FROM project WHERE organization_id = ? AND id % 16 = 2',
         undef, $filler->{org});
$dbh->do('DELETE FROM snowflake_sequence');
$t->mark_log;
$r = create('Lucky');
is $r->{status}, 201, 'a free id among the tries: 201';
is split_id($r->{json}{id})->{sequence}, 2, 'the free sequence is taken';
@tries = $t->log_since =~ /snowflake-collision project_id=(\d+)/g;
ok @tries >= 2 && @tries < 5, 'after colliding ids (' . @tries . ')';

$dbh->do('DELETE FROM project WHERE organization_id = ?', undef,
         $filler->{org});
$r = create('Unlucky');
is $r->{status}, 201, 'ids free again: 201';

# --- an explicit slug conflict is a 409 of its own ---

$r = $t->http('POST', '/api/0/teams/org1/team1/projects/',
              headers => { Authorization => "Bearer $tok" },
              body => '{"name": "Snow", "slug": "snow"}');
is $r->{status}, 409, 'taken slug with snowflake ids: 409';
is $r->{json}{detail}, 'A project with this slug already exists.',
   'taken slug: detail';

# --- region 0 and off ---

$t->reload_nginx(http => 'jira_sync_snowflake on;');
$r = create('Region zero');
$p = split_id($r->{json}{id});
is $p->{region}, 0, 'jira_sync_snowflake_region defaults to 0';
is $p->{version}, 16, 'region 0: version 16';

$t->reload_nginx(http => '');
$r = create('Sequential');
is $r->{status}, 201, 'snowflake off: 201';
ok $r->{json}{id} < 1000000, 'snowflake off: a small id';
is $t->value('SELECT last_value FROM project_id_seq'), $r->{json}{id},
   'snowflake off: the id is project_id_seq\'s';

done_testing;
