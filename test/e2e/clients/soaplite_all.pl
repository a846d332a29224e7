#!/usr/bin/perl
# Every Voice Mail Settings operation through SOAP::Lite, each request built its own way (no WSDL).
# Usage: perl soaplite_all.pl ENDPOINT LOGIN PASSWORD
# Prints one JSON line: {"steps":[{"call":...,"ok":true,"result":...} | {"call":...,"fault":true,"code":...,"message":...,"detail":...}]}.
use strict;
use warnings;

my ($endpoint, $login, $password) = @ARGV;
use JSON::PP ();
my $json = JSON::PP->new->canonical->utf8->allow_blessed->convert_blessed;
sub emit { print $json->encode($_[0]), "\n"; exit 0; }

eval { require SOAP::Lite; SOAP::Lite->import; 1 } or emit({ missing => JSON::PP::true, message => "$@" });
{
  no warnings qw(redefine once);
  *SOAP::Transport::HTTP::Client::get_basic_credentials = sub { return ($login => $password) };
}

my $M = 'http://schemas.microsoft.com/exchange/services/2006/messages';
my $FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
my $ENTRY = 'AAAAAGsd2rbQLVtLobUGbrq/9IUHAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAACxVpEl+KVVLl957wp//x6UAGAetcDUAAA==';
my @steps;

# One call: the operation in the m: namespace, its arguments as m:-prefixed children (document/literal).
sub step {
  my ($operation, @arguments) = @_;
  my $client = SOAP::Lite->proxy($endpoint, timeout => 30)->ns($M, 'm')
    ->on_action(sub { "$M/$operation" })->on_fault(sub { my ($soap, $res) = @_; return $res; });
  my @children;
  while (my ($name, $value) = splice(@arguments, 0, 2)) {
    push @children, SOAP::Data->name("m:$name" => $value)->type('');
  }
  my $som = $client->call($operation => @children);
  if (!ref $som) {
    push @steps, { call => $operation, fault => JSON::PP::true, parsed => JSON::PP::false, code => undef, message => '' . $client->transport->status };
    return;
  }
  if ($som->fault) {
    push @steps, { call => $operation, fault => JSON::PP::true, code => '' . $som->faultcode, message => '' . $som->faultstring, detail => $som->faultdetail };
    return;
  }
  # The answer as SOAP::Lite parsed it: the body element's name, and its content (a value or a hash of the inner element).
  my $body = $som->dataof('//Body/*');
  push @steps, { call => $operation, ok => JSON::PP::true, response => $body ? $body->name : undef, result => scalar($som->result) };
}

step('IsUMEnabled');
step('GetUMProperties');
step('SetOofStatus', status => 'true');
step('SetMissedCallNotificationEnabled', status => 'false');
step('SetPlayOnPhoneDialString', dialString => '+1 555 0100');
step('SetTelephoneAccessFolderEmail', base64FolderId => $FOLDER);
step('GetUMProperties');
step('SetPlayOnPhoneDialString', dialString => 'my desk');
step('PlayOnPhone', entryId => $ENTRY, DialString => '12345');
step('PlayOnPhoneGreeting', GreetingType => 'NormalCustom', DialString => '12345');
step('GetCallInfo', CallId => 'MDlkZjllZGMtNGUy');
step('Disconnect', CallId => 'MDlkZjllZGMtNGUy');
step('ResetPIN');
emit({ client => "SOAP::Lite $SOAP::Lite::VERSION", steps => \@steps });
