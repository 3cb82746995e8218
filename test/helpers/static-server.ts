/** The static range server lives in scripts/ (it also serves the web page); tests import it from here. */
export { startStaticServer, type StaticServer, type StaticServerOptions } from '../../scripts/static-server.js';
