<?php
// ResetPIN through PHP's SoapClient (php-soap): loads the served WSDL.
// Usage: php php_reset.php ENDPOINT LOGIN PASSWORD
// Prints one JSON line: {"ok":true,...} or {"fault":true,"code":...,"message":...}.

function emit(array $outcome): void {
    echo json_encode($outcome, JSON_UNESCAPED_SLASHES), "\n";
    exit(0);
}

[$script, $endpoint, $login, $password] = $argv;

if (!class_exists('SoapClient')) {
    emit(['missing' => true, 'message' => 'the soap extension is not loaded (install php-soap)']);
}

ini_set('default_socket_timeout', '30');
try {
    $client = new SoapClient($endpoint . '?wsdl', [
        'login' => $login,
        'password' => $password,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'exceptions' => true,
        'trace' => true,
        'connection_timeout' => 30,
    ]);
} catch (SoapFault $fault) {
    emit(['fault' => true, 'stage' => 'wsdl', 'code' => $fault->faultcode, 'message' => $fault->faultstring]);
}

try {
    $result = $client->ResetPIN();
} catch (SoapFault $fault) {
    emit([
        'fault' => true,
        'stage' => 'call',
        'code' => $fault->faultcode,
        'message' => $fault->faultstring,
        'detail' => isset($fault->detail) ? $fault->detail : null,
        'responseHeaders' => $client->__getLastResponseHeaders(),
    ]);
}
emit([
    'ok' => true,
    'result' => $result,
    'functions' => $client->__getFunctions(),
    'request' => $client->__getLastRequest(),
]);
