#!/usr/bin/perl
# ResetPIN through SOAP::Lite, built its own way (no WSDL).
# Usage: perl soaplite_reset.pl ENDPOINT LOGIN PASSWORD
# Prints one JSON line: {"ok":true,...} or {"fault":true,"code":...,"message":...}.
use strict;
use warnings;

my ($endpoint, $login, $password) = @ARGV;

# JSON::PP is core Perl; SOAP::Lite is the package under test.
use JSON::PP ();
my $json = JSON::PP->new->canonical->utf8;
sub emit { print $json->encode($_[0]), "\n"; exit 0; }

# The request exactly as SOAP::Lite put it on the wire, for the report.
my $sent;
eval {
  require SOAP::Lite;
  SOAP::Lite->import(+trace => [transport => sub {
    my ($message) = @_;
    $sent = $message->content if ref $message && $message->isa('HTTP::Request');
  }]);
  1;
} or emit({ missing => JSON::PP::true, message => "$@" });

{
  no warnings qw(redefine once);
  *SOAP::Transport::HTTP::Client::get_basic_credentials = sub { return ($login => $password) };
}

my $M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
my $client = SOAP::Lite
  ->proxy($endpoint, timeout => 30)
  ->ns($M, 'm')
  ->on_action(sub { "$M/ResetPIN" })
  ->on_fault(sub { my ($soap, $res) = @_; return $res; });

my $som = $client->call('ResetPIN');
my $transport = $client->transport;
my $status = $transport->status;

if (!ref $som) {
  # No SOAP envelope could be parsed (transport-level failure only).
  emit({ fault => JSON::PP::true, parsed => JSON::PP::false, code => undef, message => "$status" });
}
if ($som->fault) {
  emit({
    fault    => JSON::PP::true,
    parsed   => JSON::PP::true,
    code     => '' . $som->faultcode,
    message  => '' . $som->faultstring,
    detail   => $som->faultdetail ? $json->allow_blessed->convert_blessed->encode($som->faultdetail) : undef,
    status   => "$status",
  });
}
my $body = $som->dataof('//Body/*');
emit({
  ok       => JSON::PP::true,
  status   => "$status",
  response => $body ? $body->name : undef,
  uri      => $body ? $body->uri : undef,
  version  => $SOAP::Lite::VERSION,
  request  => $sent,
});
