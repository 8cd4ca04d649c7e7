# DELETE /api/0/projects/{org}/{slug}/: the manual cascade of
# notification settings, the foreign-key cascade of everything else, the
# outbox row, assignee-cache invalidation, and all-or-nothing.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;

my $t = JiraSyncTest->new;
my $s = $t->scenario;                      # org1, team1, project1
my $other = $t->scenario;                  # org2
my $alice = $t->user($s, email => 'alice@example.com');
my $bob = $t->user($s, email => 'bob@example.com');
my $tok = $t->api_token($alice, 'project:admin');
my $reader = $t->api_token($alice, 'event:read');
my $dbh = $t->dbh;

my $P = $s->{project};
my $g2 = $t->group($s);

# a second project in the same organization, linked to the same issue
my $keep = $t->insert('project', organization_id => $s->{org},
                      slug => 'keep', name => 'Keep');
$t->insert('project_team', project_id => $keep, team_id => $s->{team});
my $kg = $t->group($s, project => $keep);

# assignments give every project assignees, subscriptions, activity and
# history; the last one leaves alice assigned everywhere
for my $email ('bob@example.com', 'alice@example.com') {
    my $r = $t->webhook($s->{token}, $t->assign_payload($s->{key},
                        JiraSyncTest::jira_user($email)));
    is $r->{status}, 200, "assign to $email";
}
$t->webhook($other->{token}, $t->assign_payload($other->{key}, undef));

sub setting {
    my ($table, $scope, $id, $target, %o) = @_;
    $t->insert($table, scope_type => $scope, scope_identifier => $id,
               target_type => 'user', target_identifier => $target,
               type => $o{type} // 'alerts', value => 'always',
               ($table eq 'notification_setting_provider'
                ? (provider => $o{provider} // 'email') : ()));
}

setting('notification_setting_option', 'project', $P, $alice);
setting('notification_setting_option', 'project', $P, $bob,
        type => 'workflow');
setting('notification_setting_provider', 'project', $P, $alice);
setting('notification_setting_option', 'project', $keep, $alice);
setting('notification_setting_provider', 'project', $keep, $alice,
        provider => 'slack');
# same number, other scopes: not the project's
setting('notification_setting_option', 'user', $P, $alice);
setting('notification_setting_provider', 'organization', $P, $alice);
setting('notification_setting_option', 'project', $other->{project},
        $alice);

my @DEPENDENT = qw(project_team issue_group group_assignee
                   group_subscription activity group_history group_link);

sub per_project {
    my ($p) = @_;
    my %n;
    for my $table (@DEPENDENT) {
        $n{$table} = $t->value("SELECT count(*) FROM $table"
                               . ' WHERE project_id = ?', $p);
    }
    $n{project} = $t->value('SELECT count(*) FROM project WHERE id = ?', $p);
    for my $table (qw(notification_setting_option
                      notification_setting_provider)) {
        $n{$table} = $t->value("SELECT count(*) FROM $table"
                               . " WHERE scope_type = 'project'"
                               . ' AND scope_identifier = ?', $p);
    }
    return \%n;
}

# every row of every table the delete may touch, to compare exactly
sub everything {
    my %d;
    for my $table (@DEPENDENT, qw(project notification_setting_option
                                  notification_setting_provider
                                  region_outbox external_issue team
                                  organization)) {
        $d{$table} = $t->value("SELECT count(*) || ':' || coalesce(md5("
                               . "string_agg(x::text, ',' ORDER BY x::text)),"
                               . " '') FROM $table x");
    }
    return \%d;
}

sub del {
    my ($org, $slug, $token) = @_;
    return $t->http('DELETE', "/api/0/projects/$org/$slug/",
                    headers => { defined $token
                                 ? (Authorization => "Bearer $token")
                                 : () });
}

sub issue {
    my ($g) = @_;
    return $t->http('GET', "/api/0/issues/$g/",
                    headers => { Authorization => "Bearer $reader" });
}

my $full = per_project($P);
for my $table (@DEPENDENT, qw(project notification_setting_option
                              notification_setting_provider)) {
    ok $full->{$table} > 0, "project1 has $table rows ($full->{$table})";
}
ok per_project($keep)->{group_history} > 0, 'keep has history too';

# --- the schema cascades everything that hangs off a project ---

my $fks = $t->rows(q{SELECT conrelid::regclass::text AS t, confdeltype
                       FROM pg_constraint
                      WHERE contype = 'f'
                        AND confrelid IN ('jira_sync.project'::regclass,
                                          'jira_sync.issue_group'::regclass)
                      ORDER BY 1});
ok @$fks >= 8, scalar(@$fks) . ' foreign keys reference project or group';
for my $fk (@$fks) {
    is $fk->{confdeltype}, 'c', "$fk->{t}: ON DELETE CASCADE";
}

# --- refusals change nothing ---

my $snap = everything();

my $r = del('org1', 'project1');
is $r->{status}, 401, 'no token: 401';
$r = del('org1', 'project1', $t->api_token($alice, 'project:write'));
is $r->{status}, 403, 'project:write: 403';
is $r->{json}{detail}, 'You do not have permission to perform this action.',
   'project:write: detail';
$r = del('org2', 'project2', $tok);
is $r->{status}, 403, 'another organization: 403';
$r = del('org1', 'project2', $tok);
is $r->{status}, 404, "another organization's slug: 404";
$r = del('org1', 'nothing', $tok);
is $r->{status}, 404, 'unknown project: 404';
is $r->{json}{detail}, 'The requested resource does not exist',
   'unknown project: detail';
$r = del('nothing', 'project1', $tok);
is $r->{status}, 404, 'unknown organization: 404';

is_deeply everything(), $snap, 'refused deletes changed nothing';

# --- a failure halfway leaves everything as it was ---

# the assignee cache holds the group before the delete
is issue($s->{group})->{json}{assignedTo}{id}, "$alice",
   'issue read fills the cache';

$dbh->do(q{CREATE FUNCTION test_refuse() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'injected failure'; END $$});
$dbh->do(q{CREATE TRIGGER test_refuse BEFORE DELETE ON group_history
           FOR EACH ROW EXECUTE FUNCTION test_refuse()});

$t->mark_log;
$r = del('org1', 'project1', $tok);
is $r->{status}, 500, 'a failure inside the cascade: 500';
like $t->log_since, qr/injected failure/, 'the cause is logged';
is_deeply everything(), $snap,
   'after the failure every row is still there, no outbox row';
is_deeply per_project($P), $full, 'project1 complete';
is $t->value('SELECT count(*) FROM region_outbox'), 0, 'no outbox row';
is issue($s->{group})->{status}, 200, 'the issue is still readable';

$dbh->do('DROP TRIGGER test_refuse ON group_history');
$dbh->do('DROP FUNCTION test_refuse()');

# --- the delete ---

my $keep_before = per_project($keep);
my $other_before = per_project($other->{project});
my @groups = ($s->{group}, $g2);

$t->mark_log;
$r = del('org1', 'project1', $tok);
is $r->{status}, 204, 'delete: 204';
ok !length($r->{content} // ''), 'delete: no body';

my $gone = per_project($P);
is $gone->{$_}, 0, "project1: no $_ left" for sort keys %$gone;
for my $table (qw(group_assignee group_subscription activity group_history
                  group_link)) {
    is $t->value("SELECT count(*) FROM $table WHERE group_id = ANY(?)",
                 \@groups), 0, "no $table rows of its groups";
}

is_deeply per_project($keep), $keep_before,
          'the other project in the organization is untouched';
is_deeply per_project($other->{project}), $other_before,
          'the project of another organization is untouched';
is $t->value(q{SELECT count(*) FROM notification_setting_option
               WHERE scope_type = 'user' AND scope_identifier = ?}, $P), 1,
   'a user-scope option with the same number stays';
is $t->value(q{SELECT count(*) FROM notification_setting_provider
               WHERE scope_type = 'organization'
                 AND scope_identifier = ?}, $P), 1,
   'an organization-scope provider with the same number stays';
is $t->value('SELECT count(*) FROM external_issue WHERE id = ?',
             $s->{external_issue}), 1, 'the external issue stays';
is $t->value('SELECT count(*) FROM team WHERE id = ?', $s->{team}), 1,
   'the team stays';

my $outbox = $t->rows('SELECT * FROM region_outbox');
is scalar @$outbox, 1, 'one outbox row';
is $outbox->[0]{shard_scope}, 0, 'outbox: ORGANIZATION_SCOPE';
is $outbox->[0]{shard_identifier}, $s->{org}, 'outbox: the organization';
is $outbox->[0]{category}, 8, 'outbox: PROJECT_UPDATE';
is $outbox->[0]{object_identifier}, $P, 'outbox: the project';
is_deeply JiraSyncTest::json_decode($outbox->[0]{payload}),
          { deleted => JSON::PP::true, slug => 'project1',
            name => 'Project 1' }, 'outbox: what was deleted';

my $line = "project-deleted project_id=$P organization_id=$s->{org}"
         . ' groups=2 notification_settings=3';
like $t->log_since, qr/\Q$line\E/, 'logged with the counts';

is issue($s->{group})->{status}, 404,
   'the cached issue read is gone with its group';
is issue($g2)->{status}, 404, 'the other group too';
is issue($kg)->{json}{assignedTo}{id}, "$alice",
   "the other project's issue still reads";

is del('org1', 'project1', $tok)->{status}, 404, 'deleted twice: 404';

# --- more groups than the change list holds: the cache is flushed ---

my $big = $t->insert('project', organization_id => $s->{org},
                     slug => 'big', name => 'Big');
my $ids = $dbh->selectcol_arrayref(q{INSERT INTO issue_group (project_id)
                                     SELECT ? FROM generate_series(1, 70)
                                     RETURNING id}, undef, $big);
is issue($ids->[-1])->{status}, 200, 'the 70th group reads (cached)';
is issue($kg)->{status}, 200, 'a group of another project reads (cached)';

$t->mark_log;
is del('org1', 'big', $tok)->{status}, 204, 'delete a project of 70 groups';
like $t->log_since, qr/project-deleted project_id=$big .*groups=>64/,
     'logged as more than fit';
is issue($ids->[-1])->{status}, 404, 'the 70th group is gone from the cache';
is $t->value('SELECT count(*) FROM issue_group WHERE project_id = ?', $big),
   0, 'all 70 groups deleted';
is issue($kg)->{status}, 200, 'the other project still reads';

# --- a project pending deletion is not found ---

my $pending = $t->insert('project', organization_id => $s->{org},
                         slug => 'pending', name => 'Pending', status => 2);
is del('org1', 'pending', $tok)->{status}, 404,
   'a project pending deletion: 404';
is $t->value('SELECT count(*) FROM project WHERE id = ?', $pending), 1,
   'and it stays';

# a project created over the API deletes the same way
$r = $t->http('POST', '/api/0/teams/org1/team1/projects/',
              headers => { Authorization => "Bearer $tok" },
              body => '{"name": "Short Lived"}');
is $r->{status}, 201, 'create one more';
is del('org1', 'short-lived', $tok)->{status}, 204, 'and delete it';
is $t->value('SELECT count(*) FROM project_team WHERE project_id = ?',
             $r->{json}{id}), 0, 'its team link went with it';
is $t->value('SELECT count(*) FROM region_outbox'), 3,
   'one outbox row per delete';

done_testing;
