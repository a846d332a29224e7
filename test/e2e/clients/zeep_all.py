"""Every Voice Mail Settings operation through python3-zeep, built from the served WSDL.

Usage: python3 zeep_all.py ENDPOINT LOGIN PASSWORD
Prints one JSON line: {"steps": [{"call": ..., "ok": true, "result": ...} | {"call": ..., "fault": true, "code": ..., "message": ..., "detail": ...}], ...}
"""
import json
import sys

FOLDER = "AAAAAGsd2rbQLVtLobUGbrq/9IUBAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAAA=="
ENTRY = "AAAAAGsd2rbQLVtLobUGbrq/9IUHAEX2ikn/L8JJtI5WHI0FAW8AAAFXHhsAACxVpEl+KVVLl957wp//x6UAGAetcDUAAA=="


def emit(outcome):
    print(json.dumps(outcome), flush=True)
    sys.exit(0)


def plain(value):
    """zeep's answer as JSON: None, a bool, a string, or a dict of the UMProperties fields."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    return {key: plain(value[key]) for key in value}


def main():
    endpoint, login, password = sys.argv[1:4]
    try:
        import requests
        import zeep
        from lxml import etree
        from zeep.exceptions import Fault
        from zeep.transports import Transport
    except ImportError as error:
        emit({"missing": True, "message": str(error)})

    session = requests.Session()
    session.auth = requests.auth.HTTPBasicAuth(login, password)
    client = zeep.Client(endpoint + "?wsdl", transport=Transport(session=session, timeout=30, operation_timeout=30))
    service = client.service
    steps = []

    def step(name, call):
        try:
            steps.append({"call": name, "ok": True, "result": plain(call())})
        except Fault as fault:
            detail = None if fault.detail is None else etree.tostring(fault.detail, encoding="unicode")
            steps.append({"call": name, "fault": True, "code": fault.code, "message": fault.message, "detail": detail})

    step("IsUMEnabled", lambda: service.IsUMEnabled())
    step("GetUMProperties", lambda: service.GetUMProperties())
    step("SetOofStatus", lambda: service.SetOofStatus(status=True))
    step("SetMissedCallNotificationEnabled", lambda: service.SetMissedCallNotificationEnabled(status=False))
    step("SetPlayOnPhoneDialString", lambda: service.SetPlayOnPhoneDialString(dialString="+1 555 0100"))
    step("SetTelephoneAccessFolderEmail", lambda: service.SetTelephoneAccessFolderEmail(base64FolderId=FOLDER))
    step("GetUMProperties", lambda: service.GetUMProperties())
    step("SetPlayOnPhoneDialString", lambda: service.SetPlayOnPhoneDialString(dialString="my desk"))
    step("PlayOnPhone", lambda: service.PlayOnPhone(entryId=ENTRY, DialString="12345"))
    step("PlayOnPhoneGreeting", lambda: service.PlayOnPhoneGreeting(GreetingType="NormalCustom", DialString="12345"))
    step("GetCallInfo", lambda: service.GetCallInfo(CallId="MDlkZjllZGMtNGUy"))
    step("Disconnect", lambda: service.Disconnect(CallId="MDlkZjllZGMtNGUy"))
    step("ResetPIN", lambda: service.ResetPIN())
    emit({"client": "zeep " + zeep.__version__, "steps": steps})


main()
