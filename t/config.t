# Configuration: the module loads into the stock nginx, and mistakes are
# caught by "nginx -t" with a clear message.

use strict;
use warnings;

use lib 't/lib';
use Test::More;
use JiraSyncTest;

my $t = JiraSyncTest->new(no_nginx => 1, no_migrate => 1);
$t->{port} = JiraSyncTest::free_port();

my $good = $t->nginx_conf;

sub conf_test {
    my ($conf, $name) = @_;
    my ($ok, $out) = $t->nginx_test_conf($conf);
    return ($ok, $out);
}

my ($ok, $out) = conf_test($good);
ok $ok, 'the module loads and the example configuration passes nginx -t'
    or diag $out;

sub without {
    my ($re) = @_;
    (my $c = $good) =~ s/$re//m;
    return $c;
}

($ok, $out) = conf_test(without(qr/^\s*jira_sync_db .*$/m));
ok !$ok, 'handlers without jira_sync_db fail';
like $out, qr/need "jira_sync_db"/, 'with a message naming the directive';

($ok, $out) = conf_test(without(qr/^\s*thread_pool .*$/m));
ok !$ok, 'an undeclared thread pool fails';
like $out, qr/unknown thread pool "jira_sync"/, 'nginx names the pool';

(my $default = without(qr/^\s*jira_sync_thread_pool .*$/m))
    =~ s/^\s*thread_pool .*$//m;
($ok, $out) = conf_test($default);
ok $ok, 'without jira_sync_thread_pool nginx\'s "default" pool is used'
    or diag $out;

(my $c = $good) =~ s/jira_sync_zone jira_sync 1m;/jira_sync_zone jira_sync 1k;/;
($ok, $out) = conf_test($c);
ok !$ok, 'a zone too small fails';
like $out, qr/invalid zone size "1k"/, 'with the size in the message';

($c = $good) =~ s/jira_sync_zone jira_sync 1m;/jira_sync_zone jira_sync 1m;\n    jira_sync_zone other 1m;/;
($ok, $out) = conf_test($c);
ok !$ok, 'two zones fail';
like $out, qr/"jira_sync_zone" directive is duplicate/, 'as a duplicate';

($c = $good) =~ s/(jira_sync_api;)/$1\n            jira_sync_webhook;/;
($ok, $out) = conf_test($c);
ok !$ok, 'two handlers in one location fail';

($c = $good) =~ s/jira_sync_webhook;/jira_sync_webhook on;/;
($ok, $out) = conf_test($c);
ok !$ok, 'jira_sync_webhook takes no arguments';
like $out, qr/invalid number of arguments in "jira_sync_webhook"/,
     'nginx says so';

($c = $good) =~ s/jira_sync_db_timeout [^;]+;/jira_sync_db_timeout soon;/;
($ok, $out) = conf_test($c);
ok !$ok, 'a malformed timeout fails';

($c = $good) =~ s/(\n\s*location \/api\/0\/ \{)/\n        jira_sync_db "x";$1/;
($ok, $out) = conf_test($c);
ok !$ok, 'jira_sync_db inside server{} fails';
like $out, qr/"jira_sync_db" directive is not allowed here/, 'http only';

# without any handler the directives are inert
(my $inert = $good) =~ s/^\s*jira_sync_(webhook|api);$//mg;
$inert =~ s/^\s*jira_sync_db .*$//m;
($ok, $out) = conf_test($inert);
ok $ok, 'no handler, no jira_sync_db needed' or diag $out;

done_testing;
