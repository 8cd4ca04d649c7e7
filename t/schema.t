# A worker started against an unmigrated database answers 503 and says
# why in one log line; once the schema is there it serves without a
# restart.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest qw(jwt);

my $t = JiraSyncTest->new(no_migrate => 1);
my $token = jwt({ id => 'jira.example.com:consumer' }, 'secret');

$t->mark_log;

for my $i (1 .. 3) {
    my $r = $t->webhook($token, {});
    is $r->{status}, 503, "unmigrated, request $i: 503";
    like $r->{headers}{'retry-after'} // '', qr/^\d+$/,
         "unmigrated, request $i: Retry-After";
}

my @lines = grep { /jira_sync: database schema/ } split /\n/, $t->log_since;
is scalar @lines, 1, 'one log line for several requests';
like $lines[0] // '', qr/schema "jira_sync" is at version 0, this module needs \d+/,
     'the line says what is wrong';
like $lines[0] // '', qr/make migrate/, 'and what to do';

$t->migrate;

my $r = $t->webhook($token, {});
is $r->{status}, 400, 'migrated: the request reaches the token check';
is $r->{json}{detail}, 'Could not find integration for token',
   'with Sentry\'s message';

# dropping a table under a running worker is noticed too
$t->dbh->do('ALTER TABLE integration RENAME TO integration_old');
is $t->webhook($token, {})->{status}, 503, 'a missing table: 503';
$t->dbh->do('ALTER TABLE integration_old RENAME TO integration');
is $t->webhook($token, {})->{status}, 400, 'and back';

done_testing;
