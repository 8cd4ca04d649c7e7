package JiraSyncTest;

# The project's own test harness: a throw-away PostgreSQL cluster and the
# stock nginx with the built module, both on loopback ports, torn down
# when the test ends.  Tests talk to nginx over real HTTP and check rows
# with DBI.

use strict;
use warnings;

use Cwd qw(abs_path);
use DBI;
use Digest::SHA qw(hmac_sha256 sha256);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(jwt b64url json_encode json_decode wait_for);

my $ROOT = abs_path(dirname(__FILE__) . '/../..');
my $CHANGELOGS = 0;     # changelog ids unique across every node of a test
my $JSON = JSON::PP->new->canonical->allow_nonref;

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }
sub b64url      { encode_base64url($_[0]) }

# bounded polling for what happens on its own (the outbox drain): the
# first true value of $code, tried every 0.1 s ($tries times, default 300),
# or a failed test
sub wait_for {
    my ($what, $code, $tries) = @_;
    for (1 .. $tries // 300) {
        my $v = $code->();
        return $v if $v;
        sleep 0.1;
    }
    Test::More::fail("timed out waiting: $what");
    return;
}

# HS256 token as PyJWT writes it
sub jwt {
    my ($claims, $secret, %opt) = @_;
    my $header = $opt{header} // '{"alg":"HS256","typ":"JWT"}';
    my $payload = ref $claims ? $JSON->encode($claims) : $claims;
    my $input = b64url($header) . '.' . b64url($payload);
    return $input . '.' . b64url(hmac_sha256($input, $secret));
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "no port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub pg_bin {
    my ($name) = @_;
    my @dirs = sort { ($b =~ /(\d+)/)[0] <=> ($a =~ /(\d+)/)[0] }
               glob('/usr/lib/postgresql/*/bin');
    for my $d (@dirs) {
        return "$d/$name" if -x "$d/$name";
    }
    die "PostgreSQL binary $name not found (make deps)\n";
}

sub new {
    my ($class, %opt) = @_;

    my $self = bless {
        opt  => \%opt,
        dir  => tempdir('jira-sync-test-XXXXXX', TMPDIR => 1,
                        CLEANUP => 0),
        pid  => $$,
    }, $class;

    chmod 0755, $self->{dir};
    $self->start_pg;
    $self->migrate unless $opt{no_migrate};
    $self->start_nginx(%{ $opt{nginx} // {} }) unless $opt{no_nginx};

    return $self;
}

sub dir { $_[0]{dir} }

# another nginx node on the same PostgreSQL database, with its own zone
sub second_node {
    my ($self, %o) = @_;
    my $node = bless {
        opt        => {},
        dir        => tempdir('jira-sync-node-XXXXXX', TMPDIR => 1,
                              CLEANUP => 0),
        pid        => $$,
        pgport     => $self->{pgport},
        db_created => 1,
    }, ref $self;
    chmod 0755, $node->{dir};
    $node->start_nginx(%o);
    return $node;
}

# --- PostgreSQL -----------------------------------------------------------

sub as_pg_user {
    my ($self, @cmd) = @_;
    return @cmd if $> != 0;
    return ('runuser', '-u', 'postgres', '--', @cmd);
}

sub start_pg {
    my ($self) = @_;

    my $data = "$self->{dir}/pg";
    $self->{pgdata} = $data;
    $self->{pgport} //= free_port();

    if (!-d $data) {
        make_path($data);
        if ($> == 0) {
            system('chown', '-R', 'postgres:postgres', $data) == 0
                or die "chown failed";
        }
        chmod 0700, $data;

        my @initdb = ($self->as_pg_user(pg_bin('initdb'), '-D', $data,
                                        '-A', 'trust', '-U', 'postgres',
                                        '--no-sync', '-E', 'UTF8',
                                        '--locale', 'C'));
        system("@{[map { quotemeta } @initdb]} >/dev/null 2>&1") == 0
            or die "initdb failed";
    }

    my $opts = "-c listen_addresses=127.0.0.1 -p $self->{pgport}"
             . " -k $data -c fsync=off -c synchronous_commit=off"
             . " -c full_page_writes=off -c max_connections=200"
             . ($self->{opt}{pg_opts} ? " $self->{opt}{pg_opts}" : '');

    my @ctl = ($self->as_pg_user(pg_bin('pg_ctl'), '-D', $data, '-w',
                                 '-t', '30', '-l', "$data/log",
                                 '-o', $opts, 'start'));
    system("@{[map { quotemeta } @ctl]} >/dev/null") == 0
        or die "pg_ctl start failed: " . $self->slurp("$data/log");

    if (!$self->{db_created}) {
        my $dbh = DBI->connect("dbi:Pg:dbname=postgres;host=127.0.0.1;"
                               . "port=$self->{pgport}", 'postgres', '',
                               { RaiseError => 1, PrintError => 0 });
        $dbh->do('CREATE DATABASE jira_sync');
        $dbh->disconnect;
        $self->{db_created} = 1;
    }

    $self->{pg_running} = 1;
}

sub stop_pg {
    my ($self, %opt) = @_;
    return unless $self->{pg_running};
    delete $self->{dbh};
    my @ctl = ($self->as_pg_user(pg_bin('pg_ctl'), '-D', $self->{pgdata},
                                 '-w', '-m', $opt{mode} // 'fast', 'stop'));
    system("@{[map { quotemeta } @ctl]} >/dev/null 2>&1");
    $self->{pg_running} = 0;
}

sub conninfo {
    my ($self) = @_;
    return "host=127.0.0.1 port=$self->{pgport} dbname=jira_sync"
         . " user=postgres";
}

sub dbh {
    my ($self) = @_;
    $self->{dbh} //= DBI->connect(
        "dbi:Pg:dbname=jira_sync;host=127.0.0.1;port=$self->{pgport}",
        'postgres', '', { RaiseError => 1, PrintError => 0,
                          AutoCommit => 1, pg_enable_utf8 => 1 });
    $self->{dbh}->do('SET search_path = jira_sync');
    return $self->{dbh};
}

sub migrate {
    my ($self) = @_;
    local $ENV{PGHOST} = '127.0.0.1';
    local $ENV{PGPORT} = $self->{pgport};
    local $ENV{PGUSER} = 'postgres';
    local $ENV{PGDATABASE} = 'jira_sync';
    system("sh $ROOT/tools/migrate.sh >/dev/null") == 0
        or die "migration failed";
}

sub rows {
    my ($self, $sql, @bind) = @_;
    return $self->dbh->selectall_arrayref($sql, { Slice => {} }, @bind);
}

sub value {
    my ($self, $sql, @bind) = @_;
    my ($v) = $self->dbh->selectrow_array($sql, undef, @bind);
    return $v;
}

# --- nginx -----------------------------------------------------------------

sub module_path {
    my $m = $ENV{JIRA_SYNC_MODULE}
         // "$ROOT/build/ngx_http_jira_sync_module.so";
    die "module $m not built (make)\n" unless -f $m;
    return $m;
}

sub nginx_conf {
    my ($self, %o) = @_;

    my $dir = $self->{dir};
    my $port = $self->{port};
    my $workers = $o{workers} // 1;
    my $threads = $o{threads} // 4;
    my $queue = $o{max_queue} // 256;
    my $conninfo = $o{conninfo} // $self->conninfo;
    my $zone = exists $o{zone} ? $o{zone} : 'jira_sync 1m';
    my $http = $o{http} // '';
    my $buffer = $o{client_body_buffer_size} // '16k';
    my $locations = $o{locations} // '';       # more, in the server block

    my $zone_line = defined $zone ? "jira_sync_zone $zone;" : '';

    return <<"CONF";
load_module @{[module_path()]};

daemon on;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log @{[$o{log_level} // 'info']};
@{[$> == 0 ? 'user root;' : '']}

thread_pool jira_sync threads=$threads max_queue=$queue;

events {
    worker_connections 1024;
}

http {
    access_log $dir/access.log;

    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;

    client_max_body_size 10m;
    client_body_buffer_size $buffer;

    jira_sync_db "$conninfo";
    jira_sync_thread_pool jira_sync;
    jira_sync_db_timeout @{[$o{db_timeout} // '5s']};
    $zone_line
    $http

    server {
        listen 127.0.0.1:$port;

        location /extensions/jira-server/ {
            jira_sync_webhook;
        }

        location /api/0/ {
            jira_sync_api;
        }

        location = /ping {
            return 204;
        }

        $locations
    }
}
CONF
}

sub write_conf {
    my ($self, %o) = @_;
    open my $fh, '>', "$self->{dir}/nginx.conf" or die $!;
    print $fh $self->nginx_conf(%o);
    close $fh;
}

sub start_nginx {
    my ($self, %o) = @_;

    $self->{port} //= free_port();
    $self->{nginx_opts} = \%o;
    make_path("$self->{dir}/body");
    $self->write_conf(%o);

    # make test-asan / test-valgrind run nginx under a wrapper
    my $wrap = $ENV{JIRA_SYNC_NGINX_WRAPPER} // '';
    my $out = `$wrap /usr/sbin/nginx -p $self->{dir} -c $self->{dir}/nginx.conf 2>&1`;
    die "nginx failed to start: $out\n" . $self->error_log if $?;

    $self->wait_port($self->{port});
    $self->{nginx_running} = 1;
}

sub nginx_test_conf {
    my ($self, $conf) = @_;
    open my $fh, '>', "$self->{dir}/test.conf" or die $!;
    print $fh $conf;
    close $fh;
    my $wrap = $ENV{JIRA_SYNC_NGINX_WRAPPER} // '';
    my $out = `$wrap /usr/sbin/nginx -t -p $self->{dir} -c $self->{dir}/test.conf 2>&1`;
    return ($? == 0, $out);
}

sub nginx_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

sub reload_nginx {
    my ($self, %o) = @_;
    $self->write_conf(%{ $self->{nginx_opts} }, %o);
    kill 'HUP', $self->nginx_pid;
    sleep 0.5;
}

sub stop_nginx {
    my ($self) = @_;
    return unless $self->{nginx_running};
    my $pid = $self->nginx_pid;
    if ($pid) {
        # the workers too: a killed master leaves them running
        my @workers = split ' ', `pgrep -P $pid 2>/dev/null`;
        kill 'QUIT', $pid;
        my $wait = $ENV{JIRA_SYNC_NGINX_WRAPPER} ? 600 : 100;
        for (1 .. $wait) {
            last unless kill 0, $pid;
            sleep 0.05;
        }
        kill 'KILL', $pid, @workers if kill 0, $pid;
    }
    $self->{nginx_running} = 0;
}

sub wait_port {
    my ($self, $port) = @_;
    my $tries = $ENV{JIRA_SYNC_NGINX_WRAPPER} ? 2400 : 200;
    for (1 .. $tries) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp');
        return 1 if $s;
        sleep 0.025;
    }
    die "nothing listens on port $port\n" . $self->error_log;
}

sub slurp {
    my ($self, $file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return <$fh>;
}

sub error_log { $_[0]->slurp("$_[0]{dir}/error.log") }

# the error log from now on: $t->mark_log; ...; $t->log_since
sub mark_log { $_[0]{log_mark} = length $_[0]->error_log }
sub log_since { substr($_[0]->error_log, $_[0]{log_mark} // 0) }

# --- HTTP ------------------------------------------------------------------

sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub http {
    my ($self, $method, $path, %o) = @_;
    my $ua = HTTP::Tiny->new(timeout => $o{timeout} // 30,
                             keep_alive => 0);
    my $res = $ua->request($method, $self->url($path),
                           { headers => $o{headers} // {},
                             (defined $o{body} ? (content => $o{body})
                                               : ()) });
    $res->{json} = eval { $JSON->decode($res->{content}) }
        if length($res->{content} // '');
    return $res;
}

sub webhook {
    my ($self, $token, $body, %o) = @_;
    $body = $JSON->encode($body) if ref $body;
    return $self->http('POST', "/extensions/jira-server/issue-updated/"
                               . "$token/", body => $body,
                       headers => { 'Content-Type' => 'application/json',
                                    %{ $o{headers} // {} } }, %o);
}

# --- fixtures --------------------------------------------------------------

sub insert {
    my ($self, $table, %row) = @_;
    my @cols = sort keys %row;
    my $sql = "INSERT INTO $table (" . join(', ', @cols) . ") VALUES ("
            . join(', ', map { '?' } @cols) . ") RETURNING id";
    my ($id) = $self->dbh->selectrow_array($sql, undef, @row{@cols});
    return $id;
}

# An organization with the feature on, a team, a project on the team, a
# Jira integration installed with sync_reverse_assignment, an external
# issue and a group linked to it.  Every part can be overridden.
sub scenario {
    my ($self, %o) = @_;
    my $n = ++$self->{scenario};
    my %s;

    $s{org} = $self->insert('organization', slug => "org$n",
                            name => "Org $n",
                            integrations_issue_sync =>
                                $o{feature} // 1);
    $s{team} = $self->insert('team', organization_id => $s{org},
                             slug => "team$n", name => "Team $n");
    $s{project} = $self->insert('project', organization_id => $s{org},
                                slug => "project$n", name => "Project $n");
    $self->insert('project_team', project_id => $s{project},
                  team_id => $s{team});

    $s{integration} = $o{integration} // $self->integration(%o);
    $s{external_id} = $self->value('SELECT external_id FROM integration'
                                   . ' WHERE id = ?', $s{integration});
    $s{secret} = $self->value("SELECT metadata->>'webhook_secret'"
                              . ' FROM integration WHERE id = ?',
                              $s{integration});

    my $config = $o{config}
              // { sync_reverse_assignment => JSON::PP::true };
    $s{oi} = $self->insert('organization_integration',
                           organization_id => $s{org},
                           integration_id => $s{integration},
                           config => $JSON->encode($config));

    $s{key} = $o{key} // 'APP-1';
    $s{external_issue} = $self->insert('external_issue',
                                       organization_id => $s{org},
                                       integration_id => $s{integration},
                                       key => $s{key});
    $s{group} = $self->group(\%s);
    $s{token} = jwt({ id => $s{external_id} }, $s{secret});

    return \%s;
}

sub integration {
    my ($self, %o) = @_;
    my $n = ++$self->{integrations};
    my $secret = $o{secret} // sprintf('%064x', $n * 7919);
    my $external_id = $o{external_id} // "jira$n.example.com:consumer";
    return $self->insert('integration', provider => 'jira_server',
                         external_id => $external_id,
                         name => 'consumer',
                         status => $o{status} // 0,
                         metadata => $JSON->encode({
                             base_url => "https://jira$n.example.com",
                             domain_name => "jira$n.example.com",
                             verify_ssl => JSON::PP::true,
                             webhook_secret => $secret }));
}

# another group in the scenario's project, linked to its external issue
sub group {
    my ($self, $s, %o) = @_;
    my $g = $self->insert('issue_group',
                          project_id => $o{project} // $s->{project},
                          title => 'Error');
    $self->insert('group_link', group_id => $g,
                  project_id => $o{project} // $s->{project},
                  linked_type => 3,
                  linked_id => $o{external_issue} // $s->{external_issue},
                  relationship => 2);
    return $g;
}

# a user with a primary email; member of the scenario's team by default
sub user {
    my ($self, $s, %o) = @_;
    my $n = ++$self->{users};
    my $email = $o{email} // "user$n\@example.com";
    my $u = $self->insert('app_user', username => "user$n",
                          name => "User $n", email => $email,
                          is_active => $o{active} // 1);
    $self->insert('user_email', user_id => $u, email => $email,
                  is_verified => $o{verified} // 1);
    for my $extra (@{ $o{emails} // [] }) {
        $self->insert('user_email', user_id => $u, email => $extra->[0],
                      is_verified => $extra->[1]);
    }
    unless ($o{no_member}) {
        my $m = $self->insert('organization_member',
                              organization_id => $o{org} // $s->{org},
                              user_id => $u);
        $self->insert('organization_member_team',
                      organizationmember_id => $m,
                      team_id => $o{team} // $s->{team},
                      is_active => $o{team_active} // 1);
    }
    return $u;
}

sub api_token {
    my ($self, $user, @scopes) = @_;
    my $token = 'tok_' . unpack('H*', sha256(rand() . $$ . time));
    my $sth = $self->dbh->prepare('INSERT INTO api_token'
                                  . ' (user_id, token_hash, scopes)'
                                  . ' VALUES (?, ?, ?)');
    $sth->bind_param(1, $user);
    $sth->bind_param(2, sha256($token), { pg_type => DBD::Pg::PG_BYTEA() });
    $sth->bind_param(3, \@scopes);
    $sth->execute;
    return $token;
}

# Jira's assignee-change delivery (jira-server-api.md §2.5)
sub assign_payload {
    my ($self, $key, $assignee, %o) = @_;
    my $fields = { status => { id => '10000', name => 'To Do',
                               statusCategory => { key => 'new' } },
                   project => { id => '10000', key => 'APP' },
                   %{ $o{fields} // {} } };
    $fields->{assignee} = $assignee unless $o{no_assignee};
    return {
        timestamp => 1700000000000,
        webhookEvent => 'jira:issue_updated',
        issue_event_type_name => 'issue_assigned',
        user => { name => 'admin', key => 'JIRAUSER10000',
                  displayName => 'Admin' },
        issue => { id => '10042', key => $key,
                   self => 'https://jira.example.com/rest/api/2/issue/10042',
                   fields => $fields },
        changelog => $o{changelog} // {
            # every change has its own id in Jira; a repeated id is a
            # repeated delivery
            id => $o{changelog_id} // ('95' . ++$CHANGELOGS . $$),
            items => [{ field => 'assignee', fieldtype => 'jira',
                        from => undef, fromString => undef,
                        to => 'JIRAUSER10002', toString => 'Bob B' }] },
    };
}

sub jira_user {
    my ($email) = @_;
    return { self => 'https://jira.example.com/rest/api/2/user?username=bob',
             name => 'bob', key => 'JIRAUSER10002',
             (defined $email ? (emailAddress => $email) : ()),
             displayName => 'Bob B', active => JSON::PP::true,
             timeZone => 'Europe/Berlin' };
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->{pid} == $$;
    $self->stop_nginx;
    $self->stop_pg(mode => 'immediate');
    if ($ENV{JIRA_SYNC_KEEP}) {
        print STDERR "# kept $self->{dir}\n";
    } else {
        remove_tree($self->{dir});
    }
}

# --- more fixtures ---------------------------------------------------------

# put an existing user on a team of another scenario (its organization
# membership is created when missing); returns the organization member id
sub member {
    my ($self, $s, $user, %o) = @_;
    my $org = $o{org} // $s->{org};
    my $m = $self->value('SELECT id FROM organization_member'
                         . ' WHERE organization_id = ? AND user_id = ?',
                         $org, $user)
         // $self->insert('organization_member', organization_id => $org,
                          user_id => $user);
    $self->insert('organization_member_team',
                  organizationmember_id => $m,
                  team_id => $o{team} // $s->{team},
                  is_active => $o{team_active} // 1);
    return $m;
}

# row counts of the tables an assignee change writes, and who is assigned
# to what: equal snapshots mean the webhook changed nothing
sub snapshot {
    my ($self) = @_;
    my %snap;
    for my $table (qw(group_assignee group_subscription activity
                      group_history)) {
        $snap{$table} = $self->value("SELECT count(*) FROM $table");
    }
    $snap{assignees} = join ' ', map {
        "$_->{group_id}:" . ($_->{user_id} // "team$_->{team_id}")
    } @{ $self->rows('SELECT group_id, user_id, team_id'
                     . ' FROM group_assignee ORDER BY group_id') };
    $snap{subscriptions} = join ' ', map {
        "$_->{group_id}:" . ($_->{user_id} // "team$_->{team_id}")
        . "/$_->{reason}"
    } @{ $self->rows('SELECT group_id, user_id, team_id, reason'
                     . ' FROM group_subscription ORDER BY id') };
    return \%snap;
}

1;
