package JiraMock;

# A Jira Server of the tests' own, enough of it for integration setup:
# the OAuth 1.0a endpoints of an application link (RSA-SHA1 signatures
# checked for real against the public key, by a base string rebuilt here
# from RFC 5849 independently of the module's C code), Personal Access
# Tokens, /rest/api/2/myself, /rest/api/2/serverInfo and both generations
# of the webhook resource.
#
# It runs as a forked HTTP::Daemon on a loopback port, one process per
# connection so that a hanging answer blocks nothing else.  The test
# controls it through a JSON state file (version, canned answers, tokens,
# webhooks) and reads every request it received from a log file.
#
#     my $jira = JiraMock->new(dir => $t->dir, public_key => $pem,
#                              consumer_key => 'sentry-bot');
#     $jira->respond(webhook_create => { status => 403,
#                                        json => { messages => [...] } });
#     $jira->respond(request_token => 'hang');
#     my @calls = $jira->requests('access_token');

use strict;
use warnings;

use Crypt::OpenSSL::RSA;
use Digest::SHA qw(sha1_hex);
use Fcntl qw(:flock);
use HTTP::Daemon;
use HTTP::Response;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(_exit);
use Time::HiRes qw(sleep);
use URI;

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# what each endpoint answers when told to fail
my %CANNED = (
    forbidden => sub {
        my ($name) = @_;
        return { status => 403, json => { messages => [{
            key => "You do not have permission to create WebHook"
                   . " '$name'." }] } };
    },
    bad_gateway => sub {
        return { status => 502, type => 'text/html',
                 body => "<html><body><h1>502 Bad Gateway</h1></body></html>" };
    },
    unavailable => sub {
        return { status => 503, type => 'text/plain', body => '' };
    },
    malformed => sub {
        return { status => 200, type => 'application/json',
                 body => '{"this is": not json' };
    },
);

sub new {
    my ($class, %o) = @_;

    my $dir = $o{dir} or die "JiraMock needs dir";

    my $daemon = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   ReuseAddr => 1, Listen => 64)
        or die "JiraMock: cannot listen: $!";
    my $port = $daemon->sockport;

    my $self = bless {
        port  => $port,
        url   => "http://127.0.0.1:$port",
        state => "$dir/jira-mock-$port.json",
        log   => "$dir/jira-mock-$port.log",
        owner => $$,
    }, $class;

    $self->_write_state({
        consumer_key   => $o{consumer_key} // 'sentry-bot',
        public_key     => $o{public_key},
        pat            => $o{pat} // 'pat-' . sha1_hex(rand() . $$),
        pat_user       => $o{pat_user} // 'svc-sync',
        admin          => $o{admin} // 1,
        version        => $o{version} // '9.4.0',
        send_verifier  => $o{send_verifier} // 0,
        hang           => $o{hang} // 5,
        respond        => {},
        request_tokens => {},
        access_tokens  => {},
        nonces         => {},
        webhooks       => [],
        next_id        => 1,
    });

    open my $fh, '>', $self->{log} or die "JiraMock: $self->{log}: $!";
    close $fh;

    my $pid = fork;
    die "JiraMock: fork: $!" unless defined $pid;

    if ($pid == 0) {
        setpgrp(0, 0);
        $self->_serve($daemon);
        _exit(0);
    }

    $daemon->close;
    $self->{pid} = $pid;

    return $self;
}

# The test harness with what setup needs: nginx with jira_sync_public_url
# pointing at itself, a credentials key file, short Jira timeouts, and a
# Jira whose application link holds a fresh RSA key pair.  Returns the
# harness, the Jira, and the keys.
sub start {
    my ($class, %o) = @_;

    require JiraSyncTest;

    my $t = JiraSyncTest->new(no_nginx => 1);
    $t->{port} = JiraSyncTest::free_port();

    my $secret = unpack 'H*', join '', map { chr int rand 256 } 1 .. 32;
    my $key_file = $t->dir . '/credentials.key';
    open my $fh, '>', $key_file or die "$key_file: $!";
    print $fh "$secret\n";
    close $fh;
    chmod 0600, $key_file;

    my $rsa = Crypt::OpenSSL::RSA->generate_key(2048);
    my %keys = (private_key => $rsa->get_private_key_string,
                public_key => $rsa->get_public_key_x509_string,
                secret_key => $secret, key_file => $key_file);

    my $jira = $class->new(dir => $t->dir, public_key => $keys{public_key},
                           %{ $o{jira} // {} });

    # more http-level configuration; code gets the Jira and the harness
    my $more = ref $o{http} ? $o{http}->($jira, $t) : $o{http} // '';

    my $public = $o{public_url} // "http://127.0.0.1:$t->{port}";
    $t->start_nginx(http => "jira_sync_public_url $public;"
                            . " jira_sync_secret_key_file $key_file;"
                            . ' jira_sync_jira_timeout '
                            . ($o{timeout} // '2s') . ';'
                            . " jira_sync_jira_connect_timeout 1s;\n"
                            . $more,
                    %{ $o{nginx} // {} });

    return ($t, $jira, \%keys);
}

sub url  { $_[0]{url} }
sub port { $_[0]{port} }

sub DESTROY {
    my ($self) = @_;
    return unless $self->{pid} && $self->{owner} == $$;
    # the daemon and its connection processes form one process group
    kill 'TERM', -$self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

# --- control, from the test ------------------------------------------------

sub _lock {
    my ($self) = @_;
    open my $lock, '>>', "$self->{state}.lock" or die "lock: $!";
    flock $lock, LOCK_EX or die "flock: $!";
    return $lock;
}

sub _read_state {
    my ($self) = @_;
    open my $fh, '<', $self->{state} or die "JiraMock state: $!";
    local $/;
    my $text = <$fh>;
    return $JSON->decode($text);
}

sub _write_state {
    my ($self, $state) = @_;
    my $tmp = "$self->{state}.$$";
    open my $fh, '>', $tmp or die "JiraMock state: $!";
    print $fh $JSON->encode($state);
    close $fh;
    rename $tmp, $self->{state} or die "rename: $!";
}

# read-modify-write of the state under the lock
sub _update {
    my ($self, $code) = @_;
    my $lock = $self->_lock;
    my $state = $self->_read_state;
    my @ret = $code->($state);
    $self->_write_state($state);
    close $lock;
    return wantarray ? @ret : $ret[0];
}

sub state {
    my ($self) = @_;
    my $lock = $self->_lock;
    my $state = $self->_read_state;
    close $lock;
    return $state;
}

# set(version => '10.0.1', admin => 0, send_verifier => 1, ...)
sub set {
    my ($self, %kv) = @_;
    $self->_update(sub { my ($s) = @_; $s->{$_} = $kv{$_} for keys %kv });
}

# respond(endpoint => spec): spec is 'hang', 'forbidden', 'bad_gateway',
# 'unavailable', 'malformed', or { status, json | body, type }; undef
# clears it.  Endpoints: request_token, authorize, access_token, myself,
# server_info, webhook_list, webhook_create, webhook_update,
# webhook_delete, user, status_list.
sub respond {
    my ($self, %spec) = @_;
    $self->_update(sub {
        my ($s) = @_;
        for my $k (keys %spec) {
            if (defined $spec{$k}) {
                $s->{respond}{$k} = $spec{$k};
            } else {
                delete $s->{respond}{$k};
            }
        }
    });
}

sub clear_responses {
    my ($self) = @_;
    $self->_update(sub { $_[0]{respond} = {} });
}

# every request so far, oldest first; optionally of one endpoint only
sub requests {
    my ($self, $endpoint) = @_;
    open my $fh, '<', $self->{log} or return ();
    my @all;
    while (my $line = <$fh>) {
        push @all, $JSON->decode($line);
    }
    return grep { !defined $endpoint || $_->{endpoint} eq $endpoint } @all;
}

sub reset_requests {
    my ($self) = @_;
    my $lock = $self->_lock;
    open my $fh, '>', $self->{log} or die $!;
    close $fh;
    close $lock;
}

sub webhooks { $_[0]->state->{webhooks} }

sub clear_webhooks {
    my ($self) = @_;
    $self->_update(sub { $_[0]{webhooks} = [] });
}

# register a webhook behind the module's back (as a Jira admin would)
sub add_webhook {
    my ($self, %hook) = @_;
    return $self->_update(sub {
        my ($s) = @_;
        my $id = $s->{next_id}++;
        push @{ $s->{webhooks} }, { id => $id, name => $hook{name}
                                    // 'Sentry Issue Sync',
                                    url => $hook{url},
                                    events => $hook{events}
                                    // ['jira:issue_created',
                                        'jira:issue_updated'] };
        return $id;
    });
}

# The operator clicks "Allow" on the authorize page: the Location Jira
# sends the browser to (the consumer's callback with oauth_token, and
# oauth_verifier when send_verifier is on).
sub approve {
    my ($self, $request_token) = @_;
    my $res = HTTP::Tiny->new(max_redirect => 0)->get(
        "$self->{url}/plugins/servlet/oauth/authorize?oauth_token="
        . _enc($request_token));
    return $res->{status} == 302 ? $res->{headers}{location} : undef;
}

# Jira fires every registered webhook with payload (a hash or text)
sub deliver {
    my ($self, $payload) = @_;
    my $body = ref $payload ? $JSON->encode($payload) : $payload;
    my @res;
    for my $hook (@{ $self->webhooks }) {
        push @res, HTTP::Tiny->new(timeout => 10)->request(
            'POST', $hook->{url},
            { headers => { 'Content-Type' => 'application/json',
                           'User-Agent' => 'Atlassian HttpClient' },
              content => $body });
    }
    return @res;
}

# --- helpers for the setup tests ------------------------------------------

# POST a setup step for an organization; body is a hash or raw text
sub setup_step {
    my ($class, $t, $org, $token, $body) = @_;
    return $t->http('POST', "/api/0/organizations/$org/integrations/"
                            . 'jira-server/setup/',
                    headers => { 'Content-Type' => 'application/json',
                                 defined $token
                                 ? (Authorization => "Bearer $token") : () },
                    body => ref $body ? $JSON->encode($body) : $body);
}

# The whole OAuth install: installation_config, the operator's approval at
# Jira, then the browser callback (or, with api => 1, the oauth_callback
# step).  Returns the last response, with {advance} the first one.
sub install {
    my ($self, $t, %o) = @_;

    my $r = JiraMock->setup_step($t, $o{org}, $o{token}, {
        step => 'installation_config',
        url => $o{url} // $self->url,
        consumerKey => $o{consumer_key} // 'sentry-bot',
        privateKey => $o{private_key},
        verifySsl => JSON::PP::false });
    return $r unless $r->{status} == 200 && $r->{json}{status} eq 'advance';

    my ($rt) = $r->{json}{data}{oauthUrl} =~ /oauth_token=([^&]+)/;
    my $location = $self->approve(_dec($rt));
    my $advance = $r;

    if ($o{api}) {
        $r = JiraMock->setup_step($t, $o{org}, $o{token}, {
            step => 'oauth_callback',
            pipeline => $advance->{json}{data}{pipeline},
            oauthToken => _dec($rt) });
    } else {
        (my $path = $location) =~ s{^https?://[^/]+}{};
        $r = $t->http('GET', $path);
    }

    $r->{advance} = $advance;
    $r->{request_token} = _dec($rt);
    return $r;
}

# Open a value sealed by src/jira_crypto.c without that code: AES-256-GCM
# encrypts with AES-256-CTR from the counter block nonce || 2, so the
# openssl command line decrypts it (the tag is checked by the unit tests)
sub unseal {
    my ($class, $key_hex, $sealed) = @_;
    return undef unless length $sealed >= 29 && ord($sealed) == 1;
    my $nonce = substr $sealed, 1, 12;
    my $cipher = substr $sealed, 13, length($sealed) - 29;
    my $iv = unpack('H*', $nonce) . '00000002';
    require File::Temp;
    my ($fh, $file) = File::Temp::tempfile(UNLINK => 1);
    binmode $fh;
    print $fh $cipher;
    close $fh;
    my $plain = `openssl enc -d -aes-256-ctr -K $key_hex -iv $iv -in $file`;
    return $? == 0 ? $plain : undef;
}

# header, claims and whether the HS256 signature holds under secret
sub jwt_parts {
    my ($class, $token, $secret) = @_;
    require Digest::SHA;
    require MIME::Base64;
    my ($h, $c, $s) = split /\./, $token;
    my $dec = sub { MIME::Base64::decode_base64url($_[0]) };
    my $mac = MIME::Base64::encode_base64url(
        Digest::SHA::hmac_sha256("$h.$c", $secret // ''));
    return ($JSON->decode($dec->($h)), $JSON->decode($dec->($c)),
            defined $s && $mac eq $s);
}

# --- RFC 5849, written independently of src/jira_oauth1.c ------------------

sub _enc {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub _dec {
    my ($s) = @_;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

sub _form_pairs {
    my ($text) = @_;
    my @pairs;
    for my $piece (split /&/, $text // '') {
        next if $piece eq '';
        my ($k, $v) = map { my $x = _dec($_); utf8::decode($x); $x }
                      split(/=/, $piece, 2), '';
        push @pairs, [$k, $v];
    }
    return @pairs;
}

sub _oauth_header {
    my ($value) = @_;
    return undef unless defined $value && $value =~ s/^OAuth\s+//i;
    my %p;
    while ($value =~ /\G\s*([A-Za-z0-9_]+)="([^"]*)"\s*(?:,|$)/gc) {
        my ($k, $v) = ($1, _dec($2));
        utf8::decode($v);
        $p{$k} = $v;
    }
    return \%p;
}

sub base_string {
    my ($req, $oauth) = @_;

    # behind a TLS terminator (the TLS tests) the scheme is https
    my $scheme = lc($req->header('X-Forwarded-Proto') // 'http');
    my $host = lc($req->header('Host') // '');
    $host =~ s/:80$// if $scheme eq 'http';
    $host =~ s/:443$// if $scheme eq 'https';
    my $uri = $req->uri;
    my $path = $uri->path eq '' ? '/' : $uri->path;

    my @pairs = map { [$_, $oauth->{$_}] }
                grep { $_ ne 'oauth_signature' && $_ ne 'realm' }
                keys %$oauth;
    push @pairs, _form_pairs($uri->query);
    if (($req->header('Content-Type') // '')
        =~ m{^application/x-www-form-urlencoded}i)
    {
        push @pairs, _form_pairs($req->content);
    }

    my @enc = sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] }
              map { [_enc($_->[0]), _enc($_->[1])] } @pairs;
    my $params = join '&', map { "$_->[0]=$_->[1]" } @enc;

    return join '&', _enc(uc $req->method), _enc("$scheme://$host$path"),
                     _enc($params);
}

# --- the daemon ------------------------------------------------------------

sub _serve {
    my ($self, $daemon) = @_;

    $SIG{CHLD} = 'IGNORE';
    $SIG{PIPE} = 'IGNORE';
    $SIG{TERM} = sub { _exit(0) };

    while (1) {
        my $c = $daemon->accept or next;
        my $pid = fork;
        if (!defined $pid) {
            close $c;
            next;
        }
        if ($pid == 0) {
            # the listening socket stays open: requests ask it for the URL
            $SIG{TERM} = sub { _exit(0) };
            $c->timeout(30);
            while (my $req = $c->get_request) {
                my $res = eval { $self->_handle($req) }
                       // HTTP::Response->new(500, 'Mock Error', [],
                                              "mock failed: $@");
                last unless defined $res;      # hung up on purpose
                $c->send_response($res);
            }
            close $c;
            _exit(0);
        }
        close $c;
    }
}

sub _endpoint {
    my ($method, $path, $major) = @_;
    my $legacy = $major < 10;
    return 'request_token' if $path eq '/plugins/servlet/oauth/request-token'
                              && $method eq 'POST';
    return 'authorize'     if $path eq '/plugins/servlet/oauth/authorize';
    return 'access_token'  if $path eq '/plugins/servlet/oauth/access-token'
                              && $method eq 'POST';
    return 'myself'        if $path eq '/rest/api/2/myself';
    return 'server_info'   if $path eq '/rest/api/2/serverInfo';
    return 'user'          if $path eq '/rest/api/2/user' && $method eq 'GET';
    return 'status_list'   if $path eq '/rest/api/2/status'
                              && $method eq 'GET';
    return 'user_assignable' if $path eq '/rest/api/2/user/assignable/search'
                                && $method eq 'GET';
    return 'issue_assignee'  if $path =~ m{^/rest/api/2/issue/[^/]+/assignee$}
                                && $method eq 'PUT';

    my $base = $legacy ? '/rest/webhooks/1.0/webhook'
                       : '/rest/jira-webhook/1.0/webhooks';
    if ($path eq $base) {
        return $method eq 'GET' ? 'webhook_list'
             : $method eq 'POST' ? 'webhook_create' : 'unknown';
    }
    if ($path =~ m{^\Q$base\E/(\d+)$}) {
        return $method eq 'PUT' ? 'webhook_update'
             : $method eq 'DELETE' ? 'webhook_delete' : 'webhook_get';
    }
    return 'unknown';
}

sub _major {
    my ($version) = @_;
    return ($version // '') =~ /^(\d+)/ ? $1 : 0;
}

sub _record {
    my ($self, $entry) = @_;
    my $lock = $self->_lock;
    open my $fh, '>>', $self->{log} or die $!;
    print $fh $JSON->encode($entry), "\n";
    close $fh;
    close $lock;
}

sub _reply {
    my ($status, %o) = @_;
    my $res = HTTP::Response->new($status);
    if (exists $o{json}) {
        $res->header('Content-Type' => 'application/json;charset=UTF-8');
        $res->content($JSON->encode($o{json}));
    } elsif (defined $o{body}) {
        $res->header('Content-Type' => $o{type} // 'text/plain');
        $res->content($o{body});
    }
    $res->header('Location' => $o{location}) if $o{location};
    return $res;
}

sub _random { sha1_hex(rand() . $$ . Time::HiRes::time()) }

sub _handle {
    my ($self, $req) = @_;

    my $state = $self->state;
    my $major = _major($state->{version});
    my $uri = $req->uri;
    my $path = $uri->path;
    my $endpoint = _endpoint($req->method, $path, $major);

    my %entry = (
        method => $req->method,
        host => scalar $req->header('Host'),
        path => $path,
        query => $uri->query,
        endpoint => $endpoint,
        content_type => scalar $req->header('Content-Type'),
        authorization => scalar $req->header('Authorization'),
        user_agent => scalar $req->header('User-Agent'),
        body => $req->content,
    );

    # who signed it, and was the signature right?
    my $auth = $req->header('Authorization') // '';
    my $oauth = _oauth_header($auth);
    my $problem;

    if ($oauth) {
        $entry{auth} = 'oauth';
        $entry{oauth} = $oauth;
        $entry{base_string} = base_string($req, $oauth);
        $problem = $self->_check_oauth($state, $oauth, $entry{base_string},
                                       $endpoint);
        $entry{signature} = $problem ? "invalid: $problem" : 'valid';
    } elsif ($auth =~ /^Bearer (.+)$/) {
        $entry{auth} = 'pat';
        $entry{pat_valid} = ($1 eq $state->{pat}) ? 1 : 0;
    } else {
        $entry{auth} = 'none';
    }

    my $spec = $state->{respond}{$endpoint};
    $entry{canned} = ref $spec ? 'custom' : $spec if defined $spec;
    $self->_record(\%entry);

    if (defined $spec) {
        if (!ref $spec && $spec eq 'hang') {
            sleep $state->{hang};
            return undef;
        }
        my $r = ref $spec ? $spec : $CANNED{$spec}->('Sentry Issue Sync');
        if ($r->{echo_body}) {
            return _reply($r->{status}, json => { messages => [{ key =>
                'Invalid webhook: ' . $req->content }] });
        }
        if ($r->{echo_authorization}) {
            return _reply($r->{status}, json => { messages => [{ key =>
                'Rejected: ' . ($req->header('Authorization') // '') }] });
        }
        if ($r->{echo_base_string}) {
            return _reply($r->{status}, body =>
                'oauth_problem=signature_invalid&oauth_signature_base_string='
                . _enc($entry{base_string} // ''), type => 'text/plain');
        }
        return _reply($r->{status}, %$r);
    }

    return $self->_authorize($state, $uri) if $endpoint eq 'authorize';

    # OAuth problems answer like Jira's OAuth filter
    if ($oauth && $problem) {
        return _reply(401, body => "oauth_problem=$problem"
                      . '&oauth_signature_base_string='
                      . _enc($entry{base_string}), type => 'text/plain');
    }

    if ($endpoint eq 'request_token') {
        return _reply(401, body => 'oauth_problem=parameter_absent')
            unless $oauth && defined $oauth->{oauth_callback};
        my ($token, $secret) = ('rt-' . _random(), _random());
        $self->_update(sub {
            $_[0]{request_tokens}{$token} = {
                secret => $secret, callback => $oauth->{oauth_callback},
                authorized => 0, used => 0 };
        });
        return _reply(200, body => "oauth_token=$token&oauth_token_secret="
                      . "$secret&oauth_callback_confirmed=true");
    }

    if ($endpoint eq 'access_token') {
        return $self->_access_token($oauth);
    }

    if ($endpoint eq 'server_info') {
        my @numbers = map { 0 + $_ } ($state->{version} =~ /(\d+)/g);
        return _reply(200, json => {
            baseUrl => $self->{url}, version => $state->{version},
            versionNumbers => \@numbers, deploymentType => 'Server',
            buildNumber => 940000, serverTitle => 'Jira' });
    }

    # the REST API: an access token of ours, or the PAT
    my $user = $self->_rest_user($state, $oauth, $auth);
    if (!defined $user) {
        return _reply(401, json => { errorMessages => [
            'You are not authenticated. Authentication required to'
            . ' perform this operation.'] });
    }

    if ($endpoint eq 'user') {
        return $self->_user($state, $uri);
    }

    if ($endpoint eq 'status_list') {
        return _reply(200, json => $state->{statuses} // default_statuses());
    }

    if ($endpoint eq 'user_assignable') {
        return $self->_assignable($state, $uri);
    }

    if ($endpoint eq 'issue_assignee') {
        return $self->_assign_issue($state, $req, $path);
    }

    if ($endpoint eq 'myself') {
        return _reply(200, json => {
            self => "$self->{url}/rest/api/2/user?username=$user",
            key => 'JIRAUSER10100', name => $user,
            emailAddress => "$user\@example.com",
            displayName => 'Sync Service', active => JSON::PP::true });
    }

    if ($endpoint =~ /^webhook_/) {
        return $self->_webhooks($state, $endpoint, $req, $major, $user);
    }

    return _reply(404, json => { errorMessages => ["No resource at $path"] });
}

sub _check_oauth {
    my ($self, $state, $oauth, $base, $endpoint) = @_;

    return 'signature_method_rejected'
        unless ($oauth->{oauth_signature_method} // '') eq 'RSA-SHA1';
    return 'version_rejected'
        if defined $oauth->{oauth_version} && $oauth->{oauth_version} ne '1.0';
    return 'consumer_key_unknown'
        unless ($oauth->{oauth_consumer_key} // '') eq $state->{consumer_key};
    return 'parameter_absent'
        unless defined $oauth->{oauth_nonce}
               && defined $oauth->{oauth_timestamp}
               && defined $oauth->{oauth_signature};
    return 'timestamp_refused'
        if abs(time - $oauth->{oauth_timestamp}) > 300;

    my $key = Crypt::OpenSSL::RSA->new_public_key($state->{public_key});
    $key->use_sha1_hash;
    my $sig = decode_base64($oauth->{oauth_signature});
    return 'signature_invalid' unless eval { $key->verify($base, $sig) };

    my $replay = $self->_update(sub {
        my ($s) = @_;
        my $n = "$oauth->{oauth_nonce}:$oauth->{oauth_timestamp}";
        return 1 if $s->{nonces}{$n}++;
        return 0;
    });
    return 'nonce_used' if $replay;

    return undef;
}

sub _authorize {
    my ($self, $state, $uri) = @_;
    my %q = map { @$_ } _form_pairs($uri->query);
    my $token = $q{oauth_token} // '';
    my $rt = $state->{request_tokens}{$token};
    return _reply(400, body => 'oauth_problem=token_rejected') unless $rt;

    my $verifier = $state->{send_verifier} ? 'v-' . _random() : undef;
    $self->_update(sub {
        $_[0]{request_tokens}{$token}{authorized} = 1;
        $_[0]{request_tokens}{$token}{verifier} = $verifier;
    });

    my $loc = URI->new($rt->{callback});
    $loc->query_form($loc->query_form, oauth_token => $token,
                     defined $verifier ? (oauth_verifier => $verifier) : ());
    return _reply(302, location => "$loc");
}

sub _access_token {
    my ($self, $oauth) = @_;

    my $result = $self->_update(sub {
        my ($s) = @_;
        my $token = $oauth->{oauth_token} // '';
        my $rt = $s->{request_tokens}{$token};
        return 'token_rejected' unless $rt && !$rt->{used};
        return 'permission_unknown' unless $rt->{authorized};
        # with a verifier Jira checks it; without one Sentry sends the token
        my $want = $rt->{verifier} // $token;
        return 'verifier_invalid'
            unless ($oauth->{oauth_verifier} // '') eq $want;
        $rt->{used} = 1;
        my ($at, $secret) = ('at-' . _random(), _random());
        $s->{access_tokens}{$at} = $secret;
        return [$at, $secret];
    });

    return _reply(401, body => "oauth_problem=$result") unless ref $result;
    return _reply(200, body => "oauth_token=$result->[0]"
                  . "&oauth_token_secret=$result->[1]");
}

sub _rest_user {
    my ($self, $state, $oauth, $auth) = @_;
    if ($oauth) {
        my $token = $oauth->{oauth_token} // '';
        return exists $state->{access_tokens}{$token} ? 'sync-admin' : undef;
    }
    if ($auth =~ /^Bearer (.+)$/ && $1 eq $state->{pat}) {
        return $state->{pat_user};
    }
    return undef;
}

sub _bean {
    my ($self, $hook, $major) = @_;
    my %bean = (name => $hook->{name}, url => $hook->{url},
                events => $hook->{events}, excludeBody => JSON::PP::false,
                filters => { 'issue-related-events-section' => '' });
    if ($major >= 10) {
        $bean{id} = 0 + $hook->{id};
        $bean{active} = JSON::PP::true;
        $bean{scopeType} = 'GLOBAL';
    } else {
        $bean{self} = "$self->{url}/rest/webhooks/1.0/webhook/$hook->{id}";
        $bean{enabled} = JSON::PP::true;
        $bean{lastUpdatedUser} = 'JIRAUSER10100';
    }
    return \%bean;
}

sub _webhooks {
    my ($self, $state, $endpoint, $req, $major, $user) = @_;

    # webhooks need the Jira Administrators global permission
    if (!$state->{admin}) {
        return _reply(403, json => { messages => [{ key =>
            'You do not have permission to view WebHooks.' }] })
            if $endpoint eq 'webhook_list';
    }

    if ($endpoint eq 'webhook_list') {
        return _reply(200, json => [ map { $self->_bean($_, $major) }
                                     @{ $state->{webhooks} } ]);
    }

    my ($id) = $req->uri->path =~ m{/(\d+)$};
    my $body;
    if ($endpoint eq 'webhook_create' || $endpoint eq 'webhook_update') {
        $body = eval { $JSON->decode($req->content) };
        return _reply(400, json => { messages => [{ key =>
            'The request body is not a webhook.' }] })
            unless ref $body eq 'HASH' && defined $body->{url};
    }

    if (!$state->{admin}) {
        return _reply(403, %{ $CANNED{forbidden}->(
            $body->{name} // 'Sentry Issue Sync') });
    }

    if ($endpoint eq 'webhook_create') {
        my $hook = $self->_update(sub {
            my ($s) = @_;
            my $h = { id => $s->{next_id}++, name => $body->{name},
                      url => $body->{url}, events => $body->{events} };
            push @{ $s->{webhooks} }, $h;
            return $h;
        });
        return _reply(201, json => $self->_bean($hook, $major));
    }

    my $found = $self->_update(sub {
        my ($s) = @_;
        my @keep;
        my $hit;
        for my $h (@{ $s->{webhooks} }) {
            if ($h->{id} == $id) {
                $hit = $h;
                next if $endpoint eq 'webhook_delete';
                @$h{qw(name url events)} = @$body{qw(name url events)}
                    if $endpoint eq 'webhook_update';
            }
            push @keep, $h;
        }
        $s->{webhooks} = \@keep;
        return $hit;
    });

    return _reply(404, json => { messages => [{ key =>
        "No webhook with id $id" }] }) unless $found;
    return _reply(204) if $endpoint eq 'webhook_delete';
    return _reply(200, json => $self->_bean($found, $major))
        if $endpoint eq 'webhook_update';
    return _reply(200, json => $self->_bean($found, $major));
}


# --- users and statuses (hidden emails, inbound status sync) ---------------

# The workflow statuses GET /rest/api/2/status lists unless set(statuses
# => [...]) says otherwise: id, name and the category Sentry reads.
sub default_statuses {
    my @list = (['1', 'Open', 'new'], ['3', 'In Progress', 'indeterminate'],
                ['4', 'Reopened', 'new'], ['5', 'Resolved', 'done'],
                ['6', 'Closed', 'done'], ['10000', 'To Do', 'new'],
                ['10101', 'In Progress', 'indeterminate'],
                ['10102', 'Done', 'done']);
    return [ map { { id => $_->[0], name => $_->[1],
                     self => "http://jira.invalid/rest/api/2/status/$_->[0]",
                     statusCategory => { key => $_->[2],
                                         name => ucfirst $_->[2] } } }
             @list ];
}

# add_user(key => 'JIRAUSER10002', name => 'bob', email => 'b@x'): a Jira
# user GET /rest/api/2/user?key= finds; without email the bean has no
# emailAddress, as with "User email visibility" on Hidden
sub add_user {
    my ($self, %u) = @_;
    $self->_update(sub {
        my ($s) = @_;
        $s->{users}{ $u{key} } = {
            key => $u{key}, name => $u{name} // lc $u{key},
            displayName => $u{display_name} // "User $u{key}",
            active => JSON::PP::true,
            defined $u{email} ? (emailAddress => $u{email}) : () };
    });
}

sub _user {
    my ($self, $state, $uri) = @_;
    my %q = map { @$_ } _form_pairs($uri->query);
    my $key = $q{key};
    return _reply(404, json => { errorMessages => [
        'The user with the key \'' . ($key // '') . '\' does not exist' ],
        errors => {} }) unless defined $key && $state->{users}{$key};
    my $user = $state->{users}{$key};
    return _reply(200, json => {
        self => "$self->{url}/rest/api/2/user?username=" . _enc($user->{name}),
        %$user, timeZone => 'Europe/Berlin', locale => 'en_US',
        groups => { size => 1, items => [] } });
}


# --- assigning issues (outbound assignee sync) -----------------------------
#
# Endpoints user_assignable (GET /rest/api/2/user/assignable/search) and
# issue_assignee (PUT /rest/api/2/issue/{key}/assignee) answer from the
# users add_user() made.  set(missing_issues => ['KEY']) makes an issue
# unknown;
# set(assign_delay => seconds) slows every assignment down.  What Jira
# applied, in order: $jira->assignments.

sub assignments { @{ $_[0]->state->{assignments} // [] } }

# Install this Jira into an organization with its Personal Access Token
# (one setup step); returns the new integration's id, or dies.
sub install_pat {
    my ($self, $t, %o) = @_;
    my $r = JiraMock->setup_step($t, $o{org}, $o{token}, {
        step => 'installation_config', url => $self->url,
        personalAccessToken => $self->state->{pat},
        verifySsl => JSON::PP::false });
    die "PAT install failed: $r->{status} $r->{content}\n"
        unless $r->{status} == 200 && ($r->{json}{status} // '') eq 'complete';
    return $r->{json}{data}{id};
}

# Install it into a scenario's organization (its admin's token), with the
# installation's config set when given; returns the integration's id.
sub install_pat_for {
    my ($self, $t, $s, %o) = @_;
    my $org = $t->value('SELECT slug FROM organization WHERE id = ?',
                        $s->{org});
    my $admin = $t->user($s, email => 'admin@example.com');
    my $id = $self->install_pat($t, org => $org,
                                token => $t->api_token($admin,
                                                       'org:integrations'));
    $t->dbh->do('UPDATE organization_integration SET config = ?'
                . ' WHERE integration_id = ?', undef,
                $JSON->encode($o{config}), $id)
        if $o{config};
    return $id;
}

sub _bean_of {
    my ($self, $u) = @_;
    return { self => "$self->{url}/rest/api/2/user?username="
                     . _enc($u->{name}),
             map { exists $u->{$_} ? ($_ => $u->{$_}) : () }
             qw(key name emailAddress displayName active) };
}

sub _assignable {
    my ($self, $state, $uri) = @_;
    my %q = map { @$_ } _form_pairs($uri->query);
    return _reply(400, json => { errorMessages => [
        'The issue key or the project key must be given.'], errors => {} })
        unless defined $q{issueKey} || defined $q{project};
    if (defined $q{issueKey}
        && grep { $_ eq $q{issueKey} } @{ $state->{missing_issues} // [] })
    {
        return _reply(404, json => { errorMessages => [
            'Issue Does Not Exist'], errors => {} });
    }
    my $needle = lc($q{username} // '');
    my @found = grep {
        my $u = $_;
        grep { index(lc($_ // ''), $needle) >= 0 }
             @$u{qw(name emailAddress displayName)}
    } sort { $a->{name} cmp $b->{name} } values %{ $state->{users} // {} };
    return _reply(200, json => [ map { $self->_bean_of($_) } @found ]);
}

sub _assign_issue {
    my ($self, $state, $req, $path) = @_;
    my ($key) = $path =~ m{^/rest/api/2/issue/([^/]+)/assignee$};
    $key = _dec($key);
    return _reply(404, json => { errorMessages => ['Issue Does Not Exist'],
                                 errors => {} })
        if grep { $_ eq $key } @{ $state->{missing_issues} // [] };
    my $body = eval { $JSON->decode($req->content) };
    return _reply(400, json => { errorMessages => [
        'Can not deserialize the request body.'], errors => {} })
        unless ref $body eq 'HASH' && exists $body->{name};
    my $name = $body->{name};
    if (defined $name
        && !grep { $_->{name} eq $name } values %{ $state->{users} // {} })
    {
        return _reply(400, json => { errorMessages => [], errors => {
            assignee => "User '$name' does not exist." } });
    }
    sleep $state->{assign_delay} if $state->{assign_delay};
    $self->_update(sub {
        my ($s) = @_;
        push @{ $s->{assignments} }, { key => $key, name => $name };
        $s->{assignees}{$key} = $name;
    });
    return _reply(204);
}

1;
