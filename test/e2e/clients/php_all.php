<?php
// Every Voice Mail Settings operation through PHP's SoapClient (php-soap), built from the served WSDL.
// Usage: php php_all.php ENDPOINT LOGIN PASSWORD
// Prints one JSON line: {"steps":[{"call":...,"ok":true,"result":...} | {"call":...,"fault":true,"code":...,"message":...,"detail":...}]}.

const FOLDER = 'AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA==';
const ENTRY = 'AAAAAGsd2rbQLVtLobUGbrq/9IUHAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAACxVpEl+KVVLl957wp//x6UAGAetcDUAAA==';

function emit(array $outcome): void {
    echo json_encode($outcome, JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

[$script, $endpoint, $login, $password] = $argv;
if (!class_exists('SoapClient')) {
    emit(['missing' => true, 'message' => 'the soap extension is not loaded (install php-soap)']);
}
ini_set('default_socket_timeout', '30');
$client = new SoapClient($endpoint . '?wsdl', [
    'login' => $login, 'password' => $password, 'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true, 'trace' => true, 'connection_timeout' => 30,
]);

$steps = [];
function step(string $name, callable $call): void {
    global $steps;
    try {
        $steps[] = ['call' => $name, 'ok' => true, 'result' => $call()];
    } catch (SoapFault $fault) {
        $steps[] = ['call' => $name, 'fault' => true, 'code' => $fault->faultcode, 'message' => $fault->faultstring, 'detail' => $fault->detail ?? null];
    }
}

// Document/literal "wrapped": each call takes the request element's children as one array.
step('IsUMEnabled', fn () => $client->IsUMEnabled());
step('GetUMProperties', fn () => $client->GetUMProperties());
step('SetOofStatus', fn () => $client->SetOofStatus(['status' => true]));
step('SetMissedCallNotificationEnabled', fn () => $client->SetMissedCallNotificationEnabled(['status' => false]));
step('SetPlayOnPhoneDialString', fn () => $client->SetPlayOnPhoneDialString(['dialString' => '+1 555 0100']));
step('SetTelephoneAccessFolderEmail', fn () => $client->SetTelephoneAccessFolderEmail(['base64FolderId' => FOLDER]));
step('GetUMProperties', fn () => $client->GetUMProperties());
step('SetPlayOnPhoneDialString', fn () => $client->SetPlayOnPhoneDialString(['dialString' => 'my desk']));
step('PlayOnPhone', fn () => $client->PlayOnPhone(['entryId' => ENTRY, 'DialString' => '12345']));
step('PlayOnPhoneGreeting', fn () => $client->PlayOnPhoneGreeting(['GreetingType' => 'NormalCustom', 'DialString' => '12345']));
step('GetCallInfo', fn () => $client->GetCallInfo(['CallId' => 'MDlkZjllZGMtNGUy']));
step('Disconnect', fn () => $client->Disconnect(['CallId' => 'MDlkZjllZGMtNGUy']));
step('ResetPIN', fn () => $client->ResetPIN());
emit(['client' => 'PHP ' . PHP_VERSION, 'steps' => $steps]);
