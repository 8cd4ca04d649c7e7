# Inbound assignee sync through the webhook: who gets assigned, and the
# rows an assignment or deassignment writes (sentry-behaviour.md §2.3,
# §3, §4).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JiraSyncTest qw(json_decode);

my $t = JiraSyncTest->new;

# --- helpers ---------------------------------------------------------------

sub email_of {
    my ($user) = @_;
    return $t->value('SELECT email FROM app_user WHERE id = ?', $user);
}

# Jira assigns the scenario's issue to whoever has this email
sub send_assign {
    my ($s, $email, %o) = @_;
    $t->mark_log;
    return $t->webhook($s->{token},
                       $t->assign_payload($s->{key},
                                          JiraSyncTest::jira_user($email),
                                          %o));
}

# Jira unassigns the issue: "assignee": null, or (absent => 1) no key
sub send_unassign {
    my ($s, %o) = @_;
    $t->mark_log;
    return $t->webhook($s->{token},
                       $t->assign_payload($s->{key}, undef,
                                          no_assignee => $o{absent},
                                          changelog => $o{changelog}));
}

sub ok_200 {
    my ($res, $name) = @_;
    is $res->{status}, 200, "$name: status 200" or diag $res->{content};
    is $res->{content}, '', "$name: empty body";
}

# the assignee row of a group, or undef
sub assignee {
    my ($group) = @_;
    my $rows = $t->rows('SELECT project_id, user_id, team_id'
                        . ' FROM group_assignee WHERE group_id = ?', $group);
    return $rows->[0];
}

sub assigned_user {
    my ($group) = @_;
    return $t->value('SELECT user_id FROM group_assignee WHERE group_id = ?',
                     $group);
}

# [type, data] of every activity of a group, oldest first
sub activities {
    my ($group) = @_;
    return [ map { [ $_->{type}, json_decode($_->{data}) ] }
             @{ $t->rows('SELECT type, data::text AS data FROM activity'
                         . ' WHERE group_id = ? ORDER BY id', $group) } ];
}

# [status, organization, project] of every history row of a group
sub history {
    my ($group) = @_;
    return [ map { [ $_->{status}, $_->{organization_id},
                     $_->{project_id} ] }
             @{ $t->rows('SELECT status, organization_id, project_id'
                         . ' FROM group_history WHERE group_id = ?'
                         . ' ORDER BY id', $group) } ];
}

# "user/reason" (or "team<id>/reason") of every subscription of a group,
# sorted as strings
sub subscriptions {
    my ($group) = @_;
    return [ sort map { ($_->{user_id} // "team$_->{team_id}")
                        . "/$_->{reason}" }
             @{ $t->rows('SELECT user_id, team_id, reason'
                         . ' FROM group_subscription WHERE group_id = ?',
                         $group) } ];
}

sub assigned_data {
    my ($user, $email) = @_;
    return [ 11, { assignee => "$user", assigneeEmail => $email,
                   assigneeType => 'user' } ];
}

# returns the subscription's id
sub subscribe {
    my ($s, $group, $user, $reason) = @_;
    return $t->insert('group_subscription', project_id => $s->{project},
                      group_id => $group, user_id => $user, is_active => 1,
                      reason => $reason);
}

# an assignee set directly, as the UI would have left it
sub preassign {
    my ($s, $user, $group) = @_;
    $group //= $s->{group};
    $t->insert('group_assignee', project_id => $s->{project},
               group_id => $group, user_id => $user);
    subscribe($s, $group, $user, 2);
}

# the webhook is answered 200 and no row changes
sub unchanged {
    my ($name, $before, $res, @logged) = @_;
    subtest $name => sub {
        ok_200($res, 'webhook');
        is_deeply $t->snapshot, $before, 'nothing changed';
        my $log = $t->log_since;
        like $log, qr/jira_sync: \Q$_\E/, "logged $_" for @logged;
    };
}

# --- assign, reassign, same again, deassign --------------------------------

{
    my $s = $t->scenario;
    my $g = $s->{group};
    my $u1 = $t->user($s);
    my $u2 = $t->user($s);

    my $res = send_assign($s, email_of($u1));
    ok_200($res, 'assign');
    is_deeply assignee($g),
              { project_id => $s->{project}, user_id => $u1,
                team_id => undef },
              'assign: one assignee row, the user';
    is_deeply activities($g), [ assigned_data($u1, email_of($u1)) ],
              'assign: activity ASSIGNED with the user\'s id and email';
    is $t->value("SELECT jsonb_typeof(data -> 'assignee') FROM activity"
                 . ' WHERE group_id = ?', $g), 'string',
       'assign: activity assignee is a JSON string';
    is_deeply history($g), [ [ 5, $s->{org}, $s->{project} ] ],
              'assign: history ASSIGNED';
    is_deeply subscriptions($g), [ "$u1/2" ],
              'assign: the user is subscribed as assignee';
    is $t->value('SELECT is_active FROM group_subscription'
                 . ' WHERE group_id = ?', $g), 1,
       'assign: the subscription is active';
    my $line = 'jira_sync: sync_group_assignee_inbound._handle_assign'
             . ".assigning.group group_id=$g user_id=$u1,";
    like $t->log_since, qr/\Q$line\E/, 'assign: logged assigning.group';

    $res = send_assign($s, email_of($u2));
    ok_200($res, 'reassign');
    is_deeply assignee($g),
              { project_id => $s->{project}, user_id => $u2,
                team_id => undef },
              'reassign: the assignee row now names the second user';
    is $t->value('SELECT count(*) FROM group_assignee WHERE group_id = ?',
                 $g), 1, 'reassign: still one assignee row';
    is_deeply activities($g),
              [ assigned_data($u1, email_of($u1)),
                assigned_data($u2, email_of($u2)) ],
              'reassign: a second activity ASSIGNED';
    is_deeply history($g),
              [ [ 5, $s->{org}, $s->{project} ],
                [ 5, $s->{org}, $s->{project} ] ],
              'reassign: a second history ASSIGNED';
    is_deeply subscriptions($g), [ "$u2/2" ],
              'reassign: old assignee unsubscribed, new one subscribed';

    my $date = $t->value('SELECT date_added FROM group_assignee'
                         . ' WHERE group_id = ?', $g);
    my $before = $t->snapshot;
    $res = send_assign($s, email_of($u2));
    ok_200($res, 'same assignee again');
    is_deeply $t->snapshot, $before,
              'same assignee again: no activity, history or subscription';
    is $t->value('SELECT date_added FROM group_assignee WHERE group_id = ?',
                 $g), $date, 'same assignee again: row not rewritten';

    $res = send_unassign($s);
    ok_200($res, 'unassign, assignee null');
    is assignee($g), undef, 'unassign, assignee null: row deleted';
    is_deeply activities($g)->[-1], [ 12, {} ],
              'unassign, assignee null: activity UNASSIGNED without data';
    is scalar @{ activities($g) }, 3,
       'unassign, assignee null: one activity added';
    is_deeply history($g)->[-1], [ 6, $s->{org}, $s->{project} ],
              'unassign, assignee null: history UNASSIGNED';
    is scalar @{ history($g) }, 3,
       'unassign, assignee null: one history row added';
    is_deeply subscriptions($g), [],
              'unassign, assignee null: assignee unsubscribed';

    $before = $t->snapshot;
    $res = send_unassign($s);
    ok_200($res, 'unassign when nothing is assigned');
    is_deeply $t->snapshot, $before,
              'unassign when nothing is assigned: no activity or history';
}

{
    my $s = $t->scenario;
    my $g = $s->{group};
    my $u = $t->user($s);
    my $keep = $t->user($s);
    subscribe($s, $g, $keep, 1);

    ok_200(send_assign($s, email_of($u)), 'assign before unassign');
    my $res = send_unassign($s, absent => 1);
    ok_200($res, 'unassign, no assignee key');
    is assignee($g), undef, 'unassign, no assignee key: row deleted';
    is_deeply activities($g), [ assigned_data($u, email_of($u)), [ 12, {} ] ],
              'unassign, no assignee key: activity UNASSIGNED';
    is_deeply [ map { $_->[0] } @{ history($g) } ], [ 5, 6 ],
              'unassign, no assignee key: history UNASSIGNED';
    is_deeply subscriptions($g), [ "$keep/1" ],
              'unassign, no assignee key: only the assigned subscription'
              . ' removed';
}

# --- nobody to assign ------------------------------------------------------

# each case: Jira names someone who must not be matched; the group keeps
# the assignee it had
{
    my $s = $t->scenario;
    my $current = $t->user($s);
    preassign($s, $current);

    my $other_team = $t->insert('team', organization_id => $s->{org},
                                slug => 'elsewhere', name => 'Elsewhere');

    my @cases = (
        [ 'no user has the email', 'nobody@example.net' ],
        [ 'email not verified', email_of($t->user($s, verified => 0)) ],
        [ 'email verified, user inactive',
          email_of($t->user($s, active => 0)) ],
        [ 'user not a member of the organization',
          email_of($t->user($s, no_member => 1)) ],
        [ 'team membership inactive',
          email_of($t->user($s, team_active => 0)) ],
        [ 'member of a team not on the project',
          email_of($t->user($s, team => $other_team)) ],
        [ 'secondary email not verified', do {
              my $alt = 'unverified-alt@example.org';
              $t->user($s, emails => [ [ $alt, 0 ] ]);
              $alt } ],
    );

    for my $case (@cases) {
        my ($name, $email) = @$case;
        my $before = $t->snapshot;
        unchanged($name, $before, send_assign($s, $email),
                  "sync_group_assignee_inbound._handle_assign.user_not_found"
                  . " group_id=$s->{group} user_id=None",
                  'inbound-assignee-not-found');
    }

    is assigned_user($s->{group}), $current,
       'the group still has its assignee';
}

# --- matching the email ----------------------------------------------------

{
    my $s = $t->scenario;
    my $u = $t->user($s, email => 'Carol.Case@Example.com');
    ok_200(send_assign($s, 'CAROL.case@example.COM'), 'email case differs');
    is assigned_user($s->{group}), $u, 'email case differs: assigned';
    is_deeply activities($s->{group}),
              [ assigned_data($u, 'Carol.Case@Example.com') ],
              'email case differs: activity has the stored primary email';
}

{
    my $s = $t->scenario;
    my $u = $t->user($s, emails => [ [ 'dave.alt@example.org', 1 ] ]);
    ok_200(send_assign($s, 'dave.alt@example.org'),
           'secondary verified email');
    is assigned_user($s->{group}), $u, 'secondary verified email: assigned';
    is_deeply activities($s->{group}), [ assigned_data($u, email_of($u)) ],
              'secondary verified email: activity has the primary email';
}

{
    my $s = $t->scenario;
    my $shared = 'shared@example.org';
    $t->user($s, no_member => 1, email => $shared);
    my $member = $t->user($s, emails => [ [ $shared, 1 ] ]);
    ok_200(send_assign($s, $shared), 'two users own the email');
    is assigned_user($s->{group}), $member,
       'two users own the email: the project member is assigned';
}

{
    my $s = $t->scenario;
    my $current = $t->user($s);
    preassign($s, $current);

    for my $case ([ 'no emailAddress', undef ], [ 'emailAddress ""', '' ]) {
        my ($name, $email) = @$case;
        my $before = $t->snapshot;
        my $res = send_assign($s, $email);
        unchanged("assignee with $name", $before, $res,
                  "missing-assignee-email issue_key=\"$s->{key}\"");
        unlike $t->log_since, qr/_handle_assign/,
               "assignee with $name: no lookup";
    }
    is assigned_user($s->{group}), $current,
       'assignee without email: no deassign';
}

# --- which groups ----------------------------------------------------------

# one integration, the issue linked from groups in two organizations
{
    my $one = $t->scenario(key => 'OPS-7');
    my $two = $t->scenario(integration => $one->{integration},
                           key => 'OPS-7');
    my $one_b = $t->group($one);
    my $other_issue = $t->insert('external_issue',
                                 organization_id => $one->{org},
                                 integration_id => $one->{integration},
                                 key => 'OPS-8');
    my $other_key = $t->group($one, external_issue => $other_issue);

    my $u = $t->user($one);
    $t->member($two, $u);

    ok_200(send_assign($one, email_of($u)), 'groups in two orgs');
    for my $case ([ $one->{group}, $one ], [ $one_b, $one ],
                  [ $two->{group}, $two ]) {
        my ($group, $s) = @$case;
        is assigned_user($group), $u, "group $group assigned";
        is_deeply activities($group), [ assigned_data($u, email_of($u)) ],
                  "group $group: activity";
        is_deeply history($group), [ [ 5, $s->{org}, $s->{project} ] ],
                  "group $group: history in its own organization";
        is_deeply subscriptions($group), [ "$u/2" ],
                  "group $group: subscription";
    }
    is assigned_user($other_key), undef,
       'group of another issue key untouched';
    unlike $t->log_since, qr/inbound-assignee-not-found/,
           'all groups assigned: no assignee-not-found';

    ok_200(send_unassign($one), 'groups in two orgs: unassign');
    is assigned_user($_), undef, "group $_ deassigned"
        for $one->{group}, $one_b, $two->{group};
}

{
    my $one = $t->scenario(key => 'OPS-9');
    my $two = $t->scenario(integration => $one->{integration},
                           key => 'OPS-9');
    my $u = $t->user($one);

    ok_200(send_assign($one, email_of($u)), 'member of one org only');
    is assigned_user($one->{group}), $u,
       'member of one org only: that org\'s group assigned';
    is assigned_user($two->{group}), undef,
       'member of one org only: the other org\'s group untouched';
    like $t->log_since,
         qr/user_not_found group_id=$two->{group} user_id=None/,
         'member of one org only: user_not_found for the other';
    like $t->log_since, qr/jira_sync: inbound-assignee-not-found/,
         'member of one org only: inbound-assignee-not-found';
}

{
    my $s = $t->scenario;
    my $u = $t->user($s);
    my $payload = $t->assign_payload('NOPE-1',
                                     JiraSyncTest::jira_user(email_of($u)));
    my $before = $t->snapshot;
    $t->mark_log;
    unchanged('unknown issue key', $before,
              $t->webhook($s->{token}, $payload), 'no-affected-groups');
}

# --- feature flag and organization-integration config ----------------------

{
    my $on = $t->scenario(key => 'FF-1');
    my $off = $t->scenario(integration => $on->{integration}, key => 'FF-1',
                           feature => 0);
    my $u = $t->user($on);
    $t->member($off, $u);
    my $current = $t->user($off);
    preassign($off, $current);

    ok_200(send_assign($on, email_of($u)), 'feature off in one org');
    is assigned_user($on->{group}), $u,
       'feature off in one org: the other org\'s group assigned';
    is assigned_user($off->{group}), $current,
       'feature off in one org: its group keeps its assignee';
    is_deeply activities($off->{group}), [],
              'feature off in one org: no activity there';

    ok_200(send_unassign($on), 'feature off in one org: unassign');
    is assigned_user($on->{group}), undef,
       'feature off in one org: unassign reaches the other org';
    is assigned_user($off->{group}), $current,
       'feature off in one org: its group is not deassigned';

    $t->dbh->do('UPDATE organization SET integrations_issue_sync = true'
                . ' WHERE id = ?', undef, $off->{org});
    ok_200(send_assign($on, email_of($u)), 'feature turned on');
    is assigned_user($off->{group}), $u,
       'feature turned on: read fresh, its group assigned';
}

{
    my @configs = (
        [ 'sync_reverse_assignment false',
          { sync_reverse_assignment => JSON::PP::false } ],
        [ 'sync_reverse_assignment absent', {} ],
        [ 'only sync_forward_assignment',
          { sync_forward_assignment => JSON::PP::true } ],
    );

    for my $case (@configs) {
        my ($name, $config) = @$case;
        my $s = $t->scenario(config => $config);
        my $u = $t->user($s);
        my $current = $t->user($s);
        preassign($s, $current);

        my $before = $t->snapshot;
        unchanged("$name: assign", $before, send_assign($s, email_of($u)),
                  'no-affected-groups');
        unchanged("$name: unassign", $before, send_unassign($s),
                  'no-affected-groups');
    }

    my $s = $t->scenario(config => {});
    my $u = $t->user($s);
    $t->dbh->do(q{UPDATE organization_integration
                     SET config = '{"sync_reverse_assignment": true}'
                   WHERE id = ?}, undef, $s->{oi});
    ok_200(send_assign($s, email_of($u)), 'sync_reverse_assignment turned on');
    is assigned_user($s->{group}), $u,
       'sync_reverse_assignment turned on: read fresh, assigned';
}

# --- the changelog ---------------------------------------------------------

{
    my $s = $t->scenario;
    my $current = $t->user($s);
    my $u = $t->user($s);
    preassign($s, $current);

    my $status = { field => 'status', fieldtype => 'jira',
                   from => '10000', fromString => 'To Do',
                   to => '3', toString => 'In Progress' };
    my $before = $t->snapshot;
    unchanged('changelog with only a status item', $before,
              send_assign($s, email_of($u),
                          changelog => { id => '1', items => [ $status ] }));
    unchanged('changelog with only a status item, assignee null', $before,
              send_unassign($s, changelog => { id => '1',
                                               items => [ $status ] }));

    ok_200(send_assign($s, email_of($u),
                       changelog => { id => '2',
                                      items => [ $status,
                                                 { field => 'assignee' } ] }),
           'assignee item after a status item');
    is assigned_user($s->{group}), $u,
       'assignee item after a status item: assigned';
}

# --- subscriptions ---------------------------------------------------------

{
    my $s = $t->scenario;
    my $g = $s->{group};
    my $u = $t->user($s);
    my $u2 = $t->user($s);
    my $sub = subscribe($s, $g, $u, 3);

    ok_200(send_assign($s, email_of($u)), 'assignee already subscribed');
    is assigned_user($g), $u, 'assignee already subscribed: assigned';
    is_deeply subscriptions($g), [ "$u/3" ],
              'assignee already subscribed: subscription kept, not doubled';
    is $t->value('SELECT reason FROM group_subscription WHERE id = ?', $sub),
       3, 'assignee already subscribed: the same row, reason unchanged';

    ok_200(send_assign($s, email_of($u2)), 'reassign from that user');
    is_deeply subscriptions($g), [ sort "$u/3", "$u2/2" ],
              'reassign from that user: a subscription for another reason'
              . ' stays';
}

# a team assignee, set as the UI sets it: the team's members subscribed
# as assignees
sub team_assigned {
    my ($s) = @_;
    my %m = map { $_ => $t->user($s) } qw(m1 m2 new other);
    $m{outsider} = $t->user($s, no_member => 1);
    $t->insert('group_assignee', project_id => $s->{project},
               group_id => $s->{group}, team_id => $s->{team});
    $t->insert('group_subscription', project_id => $s->{project},
               group_id => $s->{group}, team_id => $s->{team},
               is_active => 1, reason => 2);
    subscribe($s, $s->{group}, $m{$_}, 2) for qw(m1 m2 outsider);
    subscribe($s, $s->{group}, $m{other}, 1);
    $m{new_subscription} = subscribe($s, $s->{group}, $m{new}, 2);
    return \%m;
}

{
    my $s = $t->scenario;
    my $g = $s->{group};
    my $m = team_assigned($s);

    ok_200(send_assign($s, email_of($m->{new})), 'team replaced by a user');
    is_deeply assignee($g),
              { project_id => $s->{project}, user_id => $m->{new},
                team_id => undef },
              'team replaced by a user: the row names the user only';
    is_deeply activities($g),
              [ assigned_data($m->{new}, email_of($m->{new})) ],
              'team replaced by a user: activity ASSIGNED';
    is_deeply [ map { $_->[0] } @{ history($g) } ], [ 5 ],
              'team replaced by a user: history ASSIGNED';
    is_deeply subscriptions($g),
              [ sort "$m->{new}/2", "$m->{other}/1", "$m->{outsider}/2" ],
              'team replaced by a user: the team\'s assigned subscriptions'
              . ' removed, the new assignee\'s kept';
    is $t->value('SELECT user_id FROM group_subscription WHERE id = ?',
                 $m->{new_subscription}), $m->{new},
       'team replaced by a user: the new assignee\'s row is the one kept';
}

{
    my $s = $t->scenario;
    my $g = $s->{group};
    my $m = team_assigned($s);

    ok_200(send_unassign($s), 'team unassigned');
    is assignee($g), undef, 'team unassigned: row deleted';
    is_deeply activities($g), [ [ 12, {} ] ],
              'team unassigned: activity UNASSIGNED';
    is_deeply subscriptions($g),
              [ sort "$m->{other}/1", "$m->{outsider}/2" ],
              'team unassigned: the team\'s assigned subscriptions removed';
}

done_testing;
