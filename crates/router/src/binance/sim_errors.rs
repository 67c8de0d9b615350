//! The simulator's refusals, each as Binance answers it: an HTTP status and a body
//! `{"code": -1121, "msg": "Invalid symbol."}` with Binance's code and message text.

/// A refusal, with Binance's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// -1003, HTTP 429 (with `Retry-After`).
    #[error("Too much request weight used; current limit is {limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")]
    TooMuchWeight {
        /// The limit.
        limit: u32,
        /// Seconds until the window resets.
        retry_after_s: u64,
    },
    /// -1015, HTTP 429: too many new orders.
    #[error("Too many new orders; current limit is {limit} orders per TEN_SECONDS.")]
    TooManyOrders {
        /// The limit.
        limit: u32,
    },
    /// -1021: timestamp outside recvWindow (or too far ahead).
    #[error("Timestamp for this request is outside of the recvWindow.")]
    OutsideRecvWindow,
    /// -1022: bad signature.
    #[error("Signature for this request is not valid.")]
    BadSignature,
    /// -2014: no or malformed API key.
    #[error("API-key format invalid.")]
    ApiKeyFormat,
    /// -2015: unknown API key.
    #[error("Invalid API-key, IP, or permissions for action.")]
    InvalidApiKey,
    /// -1102: a mandatory parameter is missing.
    #[error("Mandatory parameter '{0}' was not sent, was empty/null, or malformed.")]
    Mandatory(&'static str),
    /// -1102: neither order id nor client id.
    #[error("Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")]
    EitherOrderId,
    /// -1100: a parameter's text is not in its legal range.
    #[error("Illegal characters found in parameter '{name}'; legal range is '{range}'.")]
    IllegalChars {
        /// The parameter.
        name: &'static str,
        /// Its legal range (a regular expression).
        range: &'static str,
    },
    /// -1101: a parameter sent twice.
    #[error("Duplicate values for a parameter detected.")]
    DuplicateParam,
    /// -1106: a parameter the order type does not take.
    #[error("Parameter '{0}' sent when not required.")]
    NotRequired(&'static str),
    /// -1115.
    #[error("Invalid timeInForce.")]
    InvalidTif,
    /// -1116.
    #[error("Invalid orderType.")]
    InvalidOrderType,
    /// -1117.
    #[error("Invalid side.")]
    InvalidSide,
    /// -1121.
    #[error("Invalid symbol.")]
    InvalidSymbol,
    /// -1131.
    #[error("recvWindow must be less than 60000")]
    RecvWindowTooLarge,
    /// -1013: a symbol filter refused the order.
    #[error("Filter failure: {0}")]
    Filter(&'static str),
    /// -2010: a LIMIT_MAKER order would cross.
    #[error("Order would immediately match and take.")]
    WouldTake,
    /// -2010: a client order id still open.
    #[error("Duplicate order sent.")]
    DuplicateOrder,
    /// -2010: a market order on an empty book side.
    #[error("Market is closed.")]
    NoLiquidity,
    /// -2010: the account's free balance (less what its open orders lock) cannot pay for the
    /// order.
    #[error("Account has insufficient balance for requested action.")]
    InsufficientBalance,
    /// -2011: cancel of an order that is not open.
    #[error("Unknown order sent.")]
    UnknownOrderSent,
    /// -2013: query of an order that does not exist.
    #[error("Order does not exist.")]
    NoSuchOrder,
    /// -2038: the matching engine refused an amend (`"Unknown order sent."`, `"Order amend
    /// (quantity increase) is not supported."`, `"The requested action would change no state;
    /// rejecting"`, `"Duplicate order sent."`).
    #[error("{0}")]
    AmendRejected(&'static str),
    /// -2039: `orderId` and `origClientOrderId` name different orders.
    #[error("Client order ID is not correct for this order ID.")]
    ClientIdMismatch,
    /// -1135: a WebSocket request that is not a JSON object with a method, or a parameter that
    /// is not a string, number or boolean.
    #[error("Invalid JSON Request")]
    InvalidJson,
    /// -1020: a WebSocket method the simulator does not serve.
    #[error("This operation is not supported.")]
    Unsupported,
    /// -1002: a method that needs a logged-on session (or `session.logon` with a key other
    /// than Ed25519).
    #[error("You are not authorized to execute this request.")]
    Unauthorized,
    /// -2035: a second user-data subscription for the account on one connection.
    #[error("User Data Stream subscription already active.")]
    SubscriptionActive,
    /// -2036: `userDataStream.unsubscribe` without a subscription.
    #[error("User Data Stream subscription not active.")]
    SubscriptionInactive,
    /// -1102: a cancel-replace naming no order to cancel.
    #[error("Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!")]
    EitherCancelId,
    /// -2021 (HTTP 409: one half failed) or -2022 (HTTP 400: both failed, or the cancel failed
    /// and the new order was not attempted), with each half's outcome in `data`.
    #[error("{}", if *partially { "Order cancel-replace partially failed." } else { "Order cancel-replace failed." })]
    CancelReplace {
        /// Whether one half succeeded.
        partially: bool,
        /// `cancelResult`, `newOrderResult`, `cancelResponse`, `newOrderResponse`.
        data: Box<serde_json::Value>,
    },
}

impl SimError {
    /// Binance's error code.
    pub fn code(&self) -> i64 {
        match self {
            SimError::TooMuchWeight { .. } => -1003,
            SimError::TooManyOrders { .. } => -1015,
            SimError::OutsideRecvWindow => -1021,
            SimError::BadSignature => -1022,
            SimError::ApiKeyFormat => -2014,
            SimError::InvalidApiKey => -2015,
            SimError::Mandatory(_) | SimError::EitherOrderId => -1102,
            SimError::IllegalChars { .. } => -1100,
            SimError::DuplicateParam => -1101,
            SimError::NotRequired(_) => -1106,
            SimError::InvalidTif => -1115,
            SimError::InvalidOrderType => -1116,
            SimError::InvalidSide => -1117,
            SimError::InvalidSymbol => -1121,
            SimError::RecvWindowTooLarge => -1131,
            SimError::Filter(_) => -1013,
            SimError::WouldTake | SimError::DuplicateOrder | SimError::NoLiquidity | SimError::InsufficientBalance => {
                -2010
            }
            SimError::UnknownOrderSent => -2011,
            SimError::NoSuchOrder => -2013,
            SimError::AmendRejected(_) => -2038,
            SimError::ClientIdMismatch => -2039,
            SimError::InvalidJson => -1135,
            SimError::Unsupported => -1020,
            SimError::Unauthorized => -1002,
            SimError::SubscriptionActive => -2035,
            SimError::SubscriptionInactive => -2036,
            SimError::EitherCancelId => -1102,
            SimError::CancelReplace { partially: true, .. } => -2021,
            SimError::CancelReplace { partially: false, .. } => -2022,
        }
    }

    /// The HTTP status Binance answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            SimError::TooMuchWeight { .. } | SimError::TooManyOrders { .. } => 429,
            SimError::ApiKeyFormat | SimError::InvalidApiKey => 401,
            SimError::CancelReplace { partially: true, .. } => 409,
            _ => 400,
        }
    }

    /// The body, `{"code":..,"msg":..}`.
    pub fn body(&self) -> String {
        self.json().to_string()
    }

    /// The error object (the WebSocket API's `error`): code, message and, where Binance gives
    /// it, `data`.
    pub fn json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({ "code": self.code(), "msg": self.to_string() });
        if let SimError::CancelReplace { data, .. } = self {
            out["data"] = (**data).clone();
        }
        out
    }
}
