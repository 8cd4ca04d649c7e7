# Concurrent creates of the same name in one organization: every one
# succeeds and every slug differs (the per-organization advisory lock),
# with snowflake ids and with project_id_seq.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;
use POSIX qw(_exit);

my $t = JiraSyncTest->new(nginx => {
    workers => 2, threads => 8,
    http => 'jira_sync_snowflake on; jira_sync_snowflake_region 3;' });
my $sa = $t->scenario;                        # org1, team1
my $sb = $t->scenario;                        # org2, team2
my $ua = $t->user($sa, email => 'a@example.com');
my $ub = $t->user($sb, email => 'b@example.com');
my %tok = (org1 => $t->api_token($ua, 'project:admin'),
           org2 => $t->api_token($ub, 'project:admin'));
my %team = (org1 => 'team1', org2 => 'team2');

# each request in its own process, all let go at once (the end of a
# pipe); answers come back through files
sub burst {
    my (@calls) = @_;
    my @kids;
    pipe my $gate, my $open or die "pipe: $!";
    for my $i (0 .. $#calls) {
        my ($org, $name) = @{ $calls[$i] };
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $open;
            sysread $gate, my $buf, 1;
            my $r = $t->http('POST',
                             "/api/0/teams/$org/$team{$org}/projects/",
                             headers => {
                                 Authorization => "Bearer $tok{$org}" },
                             body => JiraSyncTest::json_encode(
                                         { name => $name }));
            open my $fh, '>', $t->dir . "/answer.$i" or _exit(2);
            print $fh join(' ', $r->{status}, $r->{json}{slug} // '-',
                                $r->{json}{id} // '-'), "\n";
            close $fh;
            _exit(0);
        }
        push @kids, $pid;
    }
    close $gate;
    close $open;
    waitpid $_, 0 for @kids;
    my @answers;
    for my $i (0 .. $#calls) {
        open my $fh, '<', $t->dir . "/answer.$i" or die "no answer $i";
        my ($status, $slug, $id) = split ' ', scalar <$fh>;
        close $fh;
        unlink $t->dir . "/answer.$i";
        push @answers, { org => $calls[$i][0], status => $status,
                         slug => $slug, id => $id };
    }
    return @answers;
}

sub check {
    my ($what, $base, @answers) = @_;
    my @ok = grep { $_->{status} == 201 } @answers;
    is scalar @ok, scalar @answers, "$what: every create 201"
        or diag join ' ', map { $_->{status} } @answers;
    my (%slugs, %ids);
    $slugs{ $_->{slug} }++ for @ok;
    $ids{ $_->{id} }++ for @ok;
    is scalar keys %slugs, scalar @ok, "$what: all slugs distinct";
    is scalar keys %ids, scalar @ok, "$what: all ids distinct";
    is scalar(grep { $_ eq $base } keys %slugs), 1,
       "$what: one has the plain slug";
    is scalar(grep { /^\Q$base\E-[a-z0-79]{2,}$/ } keys %slugs),
       scalar @ok - 1, "$what: the others have Sentry's suffixes";
    return \%slugs;
}

# every pool thread connected first, so that the creates really race
my @answers = burst(map { [ 'org1', '' ] } 1 .. 32);
is scalar(grep { $_->{status} == 400 } @answers), 32, 'warm-up: 400s';

# 20 at once in one organization, snowflake ids
@answers = burst(map { [ 'org1', 'Load Test' ] } 1 .. 20);
check('20 concurrent creates', 'load-test', @answers);
is $t->value(q{SELECT count(DISTINCT lower(slug)) FROM project
               WHERE organization_id = ? AND name = 'Load Test'},
             $sa->{org}), 20, '20 rows with 20 slugs';
is $t->value(q{SELECT count(*) FROM project_team pt
               JOIN project p ON p.id = pt.project_id
               WHERE p.name = 'Load Test' AND pt.team_id = ?}, $sa->{team}),
   20, 'each on the team';
ok !(grep { int($_->{id} / 16) % 4096 != 3 } @answers),
   'every id carries region 3';

# the same name in two organizations at once: each gets the plain slug
@answers = burst(map { [ $_ % 2 ? 'org1' : 'org2', 'Twin Name' ] } 1 .. 20);
check('org1 of two', 'twin-name', grep { $_->{org} eq 'org1' } @answers);
check('org2 of two', 'twin-name', grep { $_->{org} eq 'org2' } @answers);

# without snowflake ids the sequence gives the ids
$t->reload_nginx(http => '');
@answers = burst(map { [ 'org1', 'Seq Test' ] } 1 .. 20);
check('20 concurrent creates with project_id_seq', 'seq-test', @answers);
ok !(grep { $_->{id} > 1_000_000 } @answers), 'ids from the sequence';

done_testing;
