export { errorCatalogue, type ErrorCode } from "./catalogue.js";
export { GatewayError, toGatewayError, type ErrorBody, type ErrorObject, type GatewayErrorOptions } from "./gateway-error.js";
