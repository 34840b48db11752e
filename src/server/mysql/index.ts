export { startMysqlServer } from './server.js';
export type { MysqlServer, MysqlServerOptions } from './server.js';
export { MYSQL_ERRORS, toErrPacket } from './error-map.js';
export { SERVER_VERSION } from './constants.js';
