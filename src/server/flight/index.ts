export { startFlightServer, DEFAULT_FLIGHT_LIMITS, DEFAULT_FLIGHT_PORT, grpcChannelOptions, columnsSchema } from './server.js';
export type { FlightServer, FlightServerOptions, FlightLimits } from './server.js';
export type { FlightUsers } from './auth.js';
export { GRPC_STATUS, toServiceError } from './status.js';
export { flightService, packAny, unpackAny, encodeSqlMessage, decodeSqlMessage } from './proto.js';
export * from './codec.js';
export { tableArrowSchema, arrowTypeOf } from './arrow-schema.js';
