// The test cloud and REST API are the demo's own, so the demo shows what the tests prove.
export { FakeCloud, CloudPeer, makeEnvelope, seconds, DEMO_JWT, type CloudMessage } from '../../src/demo/fake-cloud.js';
export { RestServer, netbackupHandler, sendJson, NB_MEDIA_TYPE, type RecordedRequest, type RestHandler } from '../../src/demo/fake-rest.js';
