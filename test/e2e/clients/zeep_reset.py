"""ResetPIN through python3-zeep: loads the served WSDL, calls the operation.

Usage: /usr/bin/python3 zeep_reset.py ENDPOINT LOGIN PASSWORD
Prints one JSON line: {"ok": true, ...} or {"fault": true, "code": ..., "message": ...}.
"""
import json
import sys


def emit(outcome):
    print(json.dumps(outcome), flush=True)
    sys.exit(0)


def main():
    endpoint, login, password = sys.argv[1:4]
    try:
        import requests
        import zeep
        from zeep.exceptions import Fault, TransportError
        from zeep.transports import Transport
    except ImportError as error:
        emit({"missing": True, "message": str(error)})

    session = requests.Session()
    session.auth = requests.auth.HTTPBasicAuth(login, password)
    transport = Transport(session=session, timeout=30, operation_timeout=30)
    client = zeep.Client(endpoint + "?wsdl", transport=transport)
    try:
        result = client.service.ResetPIN()
    except Fault as fault:
        detail = None
        if fault.detail is not None:
            from lxml import etree
            detail = etree.tostring(fault.detail, encoding="unicode")
        emit({"fault": True, "kind": "Fault", "code": fault.code, "message": fault.message, "detail": detail})
    except TransportError as error:
        emit({"fault": True, "kind": "TransportError", "status": error.status_code,
              "code": None, "message": str(error.message), "content": (error.content or b"").decode("utf-8", "replace")})
    emit({
        "ok": True,
        "zeep": zeep.__version__,
        "result": None if result is None else str(result),
        # What zeep took from the served WSDL: the operations and the soap:address it posted to.
        "operations": sorted(client.service._operations),
        "address": client.service._binding_options.get("address"),
    })


main()
