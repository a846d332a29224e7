/**
 * One parsed SOAP request → the operation that serves it → the response XML.
 * The HTTP edge's only knowledge of the eleven operations; each one's work is
 * in operations/, each answer's shape in soap/render.ts.
 */
import type { Credentials } from '../auth/basic-credentials.ts';
import { disconnectCall, getCallInfo, playOnPhone } from '../operations/play-on-phone.ts';
import { resetPin } from '../operations/reset-pin.ts';
import type { Services } from '../operations/services.ts';
import { getUmProperties, isUmEnabled, setUmSetting } from '../operations/voice-mail-settings.ts';
import type { SoapRequest } from '../soap/envelope.ts';
import {
  renderCallIdResponse, renderCallInfoResponse, renderEmptyResponse, renderIsUmEnabledResponse, renderResetPinResponse, renderUmPropertiesResponse,
} from '../soap/render.ts';

export async function performSoapOperation(services: Services, soap: SoapRequest, credentials: Credentials, source: string): Promise<{ login: string; body: string }> {
  const { namespace } = soap;
  switch (soap.operation) {
    case 'ResetPIN': {
      const { login } = await resetPin(services, credentials, source);
      return { login, body: renderResetPinResponse(namespace) };
    }
    case 'IsUMEnabled': {
      const { login, enabled } = await isUmEnabled(services, credentials, source);
      return { login, body: renderIsUmEnabledResponse(enabled, namespace) };
    }
    case 'GetUMProperties': {
      const { login, properties } = await getUmProperties(services, credentials, source);
      return { login, body: renderUmPropertiesResponse(properties, namespace) };
    }
    case 'SetOofStatus':
    case 'SetMissedCallNotificationEnabled': {
      const { login } = await setUmSetting(services, credentials, source, { operation: soap.operation, status: soap.arguments.status });
      return { login, body: renderEmptyResponse(soap.operation, namespace) };
    }
    case 'SetPlayOnPhoneDialString': {
      const { login } = await setUmSetting(services, credentials, source, { operation: soap.operation, dialString: soap.arguments.dialString });
      return { login, body: renderEmptyResponse(soap.operation, namespace) };
    }
    case 'SetTelephoneAccessFolderEmail': {
      const { login } = await setUmSetting(services, credentials, source, { operation: soap.operation, base64FolderId: soap.arguments.base64FolderId });
      return { login, body: renderEmptyResponse(soap.operation, namespace) };
    }
    case 'PlayOnPhone': {
      const { login, callId } = await playOnPhone(services, credentials, source, { operation: soap.operation, ...soap.arguments });
      return { login, body: renderCallIdResponse(soap.operation, callId, namespace) };
    }
    case 'PlayOnPhoneGreeting': {
      const { login, callId } = await playOnPhone(services, credentials, source, { operation: soap.operation, ...soap.arguments });
      return { login, body: renderCallIdResponse(soap.operation, callId, namespace) };
    }
    case 'GetCallInfo': {
      const { login, info } = await getCallInfo(services, credentials, source, soap.arguments.callId);
      return { login, body: renderCallInfoResponse(info, namespace) };
    }
    case 'Disconnect': {
      const { login } = await disconnectCall(services, credentials, source, soap.arguments.callId);
      return { login, body: renderEmptyResponse(soap.operation, namespace) };
    }
  }
}
