# Outbound assignee sync with an integration installed through OAuth
# 1.0a: the user search (with its query string) and the assignee PUT are
# signed with RSA-SHA1 and the access token, and the Jira mock checks the
# signatures against the application link's public key.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraMock;
use JiraSyncTest qw(json_encode);
use Time::HiRes qw(sleep);

my ($t, $jira, $keys) = JiraMock->start(
    http => 'jira_sync_outbox_interval 100ms;'
            . ' jira_sync_outbox_backoff 100ms 300ms;');

my $on = { sync_reverse_assignment => JSON::PP::true,
           sync_forward_assignment => JSON::PP::true };
my $s = $t->scenario(config => $on);
my $org = $t->value('SELECT slug FROM organization WHERE id = ?', $s->{org});
my $admin = $t->user($s, email => 'admin@example.com');
my $r = $jira->install($t, org => $org, api => 1,
                       token => $t->api_token($admin, 'org:integrations'),
                       private_key => $keys->{private_key});
is $r->{json}{status}, 'complete', 'installed with OAuth 1.0a'
    or diag $r->{content};
my $b = $r->{json}{data}{id};
$t->dbh->do('UPDATE organization_integration SET config = ?'
            . ' WHERE integration_id = ?', undef, json_encode($on), $b);

my $ei = $t->insert('external_issue', organization_id => $s->{org},
                    integration_id => $b, key => 'OPS-7');
$t->insert('group_link', group_id => $s->{group},
           project_id => $s->{project}, linked_type => 3, linked_id => $ei,
           relationship => 2);

# an address with characters that percent-encoding must get right
my $email = 'a.o+jira@example.com';
$t->user($s, email => $email);
$jira->add_user(key => 'JIRAUSER10001', name => 'a.o', email => $email);

sub wait_done {
    for (1 .. 300) {
        my $st = $t->value('SELECT status FROM assignee_outbox'
                           . ' ORDER BY id DESC LIMIT 1') // '';
        return $st if $st ne 'pending' && $st ne '';
        sleep 0.1;
    }
    return 'timed out';
}

$jira->reset_requests;
is $t->webhook($s->{token}, $t->assign_payload('APP-1',
               JiraSyncTest::jira_user($email)))->{status}, 200,
   'assigned in A';
is wait_done(), 'done', 'delivered to B';

my ($search) = $jira->requests('user_assignable');
is $search->{query}, 'issueKey=OPS-7&username=a.o%2Bjira%40example.com',
   'search: the address percent-encoded';
is $search->{auth}, 'oauth', 'search: OAuth 1.0a';
is $search->{signature}, 'valid', 'search: the signature covers the query';
is $search->{oauth}{oauth_signature_method}, 'RSA-SHA1', 'RSA-SHA1';
like $search->{oauth}{oauth_token}, qr/^at-/, 'signed with the access token';

my ($put) = $jira->requests('issue_assignee');
is $put->{body}, '{"name": "a.o"}', 'PUT: body';
is $put->{auth}, 'oauth', 'PUT: OAuth 1.0a';
is $put->{signature}, 'valid', 'PUT: valid signature';
is_deeply [$jira->assignments], [{ key => 'OPS-7', name => 'a.o' }],
          'Jira assigned the issue';

# unassign: the PUT alone, signed
$jira->reset_requests;
is $t->webhook($s->{token}, $t->assign_payload('APP-1', undef))->{status},
   200, 'unassigned in A';
is wait_done(), 'done', 'delivered';
is_deeply [map { [$_->{endpoint}, $_->{signature}, $_->{body}] }
           $jira->requests],
          [['issue_assignee', 'valid', '{"name": null}']],
          'one signed PUT';

# a Jira whose OAuth filter echoes the signed base string with a 401
$jira->respond(issue_assignee => { status => 401, echo_base_string => 1 });
is $t->webhook($s->{token}, $t->assign_payload('APP-1',
               JiraSyncTest::jira_user($email)))->{status}, 200,
   'assigned again';
my $row;
for (1 .. 300) {
    $row = $t->rows('SELECT * FROM assignee_outbox ORDER BY id DESC'
                    . ' LIMIT 1')->[0];
    last if $row->{attempts} >= 1;
    sleep 0.1;
}
my ($signed) = $jira->requests('issue_assignee');
my $at = $signed->{oauth}{oauth_token};
ok $at, 'the PUT carried the access token';
like $row->{last_error}, qr/oauth_token%3D%5Bredacted%5D|\[redacted\]/,
     'Jira\'s echo is stored with the token redacted';
unlike $row->{last_error}, qr/\Q$at\E/, 'the access token is not stored';
unlike $t->error_log, qr/\Q$at\E/, 'nor logged';
$jira->clear_responses;
is wait_done(), 'done', 'delivered once Jira accepts the call';

done_testing;
