// Every error code the library returns, once: its enumerator (dtls::Errc),
// its stable name (what programs compare and the README lists) and the
// message an error carries when it has nothing more specific to say. Codes
// made at run time (ERR_DTLS_ALERT_<name> from a peer's alert, OpenSSL's
// certificate verification codes) are Errc::kOther with their name kept.
#ifndef DTLS_SRTP_TRANSPORT_BASE_ERROR_CODES_H_
#define DTLS_SRTP_TRANSPORT_BASE_ERROR_CODES_H_

// X(enumerator, "ERR_NAME", "default message")
#define DTLS_SRTP_ERROR_CODES(X)                                               \
  X(kAccessDenied, "ERR_ACCESS_DENIED", "network use is not permitted")        \
  X(kCaPemInvalid, "ERR_CA_PEM_INVALID",                                       \
    "an entry of the CA list is not a "                                        \
    "readable PEM certificate")                                                \
  X(kCertDerInvalid, "ERR_CERT_DER_INVALID",                                   \
    "not exactly one DER certificate")                                         \
  X(kCertGenerate, "ERR_CERT_GENERATE", "generating a certificate failed")     \
  X(kCertHasExpired, "ERR_CERT_HAS_EXPIRED", "the certificate has expired")    \
  X(kCertKeyMismatch, "ERR_CERT_KEY_MISMATCH",                                 \
    "the private key does not belong to the certificate")                      \
  X(kCertNotYetValid, "ERR_CERT_NOT_YET_VALID",                                \
    "the certificate is not valid yet")                                        \
  X(kCertPemInvalid, "ERR_CERT_PEM_INVALID",                                   \
    "not a readable PEM certificate chain")                                    \
  X(kCrlPemInvalid, "ERR_CRL_PEM_INVALID", "not a readable PEM CRL")           \
  X(kDtlsAlpnNoOverlap, "ERR_DTLS_ALPN_NO_OVERLAP",                            \
    "no ALPN protocol in common")                                              \
  X(kDtlsCertFingerprintMismatch, "ERR_DTLS_CERT_FINGERPRINT_MISMATCH",        \
    "the peer's certificate matches no given fingerprint")                     \
  X(kDtlsConnectionRefused, "ERR_DTLS_CONNECTION_REFUSED",                     \
    "the server's port is closed (ICMP port unreachable)")                     \
  X(kDtlsExportFailed, "ERR_DTLS_EXPORT_FAILED", "keying export failed")       \
  X(kDtlsHandshakeEvicted, "ERR_DTLS_HANDSHAKE_EVICTED",                       \
    "a newer handshake took this half-open one's place")                       \
  X(kDtlsHandshakeFailed, "ERR_DTLS_HANDSHAKE_FAILED", "the handshake failed") \
  X(kDtlsHandshakeTimeout, "ERR_DTLS_HANDSHAKE_TIMEOUT",                       \
    "the handshake did not complete in time")                                  \
  X(kDtlsHostNotFound, "ERR_DTLS_HOST_NOT_FOUND",                              \
    "the host name does not "                                                  \
    "resolve")                                                                 \
  X(kDtlsHostUnreachable, "ERR_DTLS_HOST_UNREACHABLE",                         \
    "the server's host or network is unreachable")                             \
  X(kDtlsIdleTimeout, "ERR_DTLS_IDLE_TIMEOUT",                                 \
    "nothing received from the peer for idle_timeout")                         \
  X(kDtlsInternal, "ERR_DTLS_INTERNAL", "an internal DTLS failure")            \
  X(kDtlsMessageTooLarge, "ERR_DTLS_MESSAGE_TOO_LARGE",                        \
    "the message does not fit in one datagram at the MTU")                     \
  X(kDtlsNoSharedCipher, "ERR_DTLS_NO_SHARED_CIPHER",                          \
    "no cipher suite in common")                                               \
  X(kDtlsPeerCertificateRequired, "ERR_DTLS_PEER_CERTIFICATE_REQUIRED",        \
    "the peer sent no certificate")                                            \
  X(kDtlsPeerRestarted, "ERR_DTLS_PEER_RESTARTED",                             \
    "the peer started a new handshake from the same address")                  \
  X(kDtlsProtocolVersion, "ERR_DTLS_PROTOCOL_VERSION",                         \
    "no DTLS version in common")                                               \
  X(kDtlsPskInvalid, "ERR_DTLS_PSK_INVALID",                                   \
    "the PSK identity or key is not usable")                                   \
  X(kDtlsPskRefused, "ERR_DTLS_PSK_REFUSED",                                   \
    "no PSK identity for the server's hint")                                   \
  X(kDtlsPskUnknownIdentity, "ERR_DTLS_PSK_UNKNOWN_IDENTITY",                  \
    "no PSK key for the client's identity")                                    \
  X(kDtlsSendFailed, "ERR_DTLS_SEND_FAILED", "the message could not be sent")  \
  X(kDtlsSessionClosed, "ERR_DTLS_SESSION_CLOSED",                             \
    "closed before the handshake completed")                                   \
  X(kDtlsSessionDestroyed, "ERR_DTLS_SESSION_DESTROYED",                       \
    "the session has ended")                                                   \
  X(kDtlsSessionExists, "ERR_DTLS_SESSION_EXISTS",                             \
    "a session with this peer address exists")                                 \
  X(kDtlsSessionNotOpen, "ERR_DTLS_SESSION_NOT_OPEN",                          \
    "the handshake has not completed")                                         \
  X(kDtlsSrtpNoCommonProfile, "ERR_DTLS_SRTP_NO_COMMON_PROFILE",               \
    "no SRTP profile in common")                                               \
  X(kDtlsVersionUnsupported, "ERR_DTLS_VERSION_UNSUPPORTED",                   \
    "this DTLS version is not supported")                                      \
  X(kEventLoop, "ERR_EVENT_LOOP", "the event loop could not start")            \
  X(kIceConsentExpired, "ERR_ICE_CONSENT_EXPIRED",                             \
    "no valid ICE check within consent_timeout")                               \
  X(kIceUfragInUse, "ERR_ICE_UFRAG_IN_USE",                                    \
    "another ICE session has this ufrag")                                      \
  X(kInvalidArgValue, "ERR_INVALID_ARG_VALUE", "a value that cannot be used")  \
  X(kInvalidState, "ERR_INVALID_STATE", "not in a state that allows this")     \
  X(kKeyPassphrase, "ERR_KEY_PASSPHRASE", "a missing or wrong passphrase")     \
  X(kKeyPemInvalid, "ERR_KEY_PEM_INVALID", "not a readable PEM private key")   \
  X(kNotOnLoop, "ERR_NOT_ON_LOOP",                                             \
    "called from a thread that is not the loop's: ask() for the loop's "       \
    "answer")                                                                  \
  X(kOutOfMemory, "ERR_OUT_OF_MEMORY", "out of memory")                        \
  X(kOutOfRange, "ERR_OUT_OF_RANGE", "a value outside its range")              \
  X(kPkcs12Invalid, "ERR_PKCS12_INVALID", "not a readable PKCS#12 bundle")     \
  X(kPkcs12NoKey, "ERR_PKCS12_NO_KEY",                                         \
    "the PKCS#12 bundle holds no key or no certificate")                       \
  X(kRandom, "ERR_RANDOM", "the random generator failed")                      \
  X(kSdpFingerprintInvalid, "ERR_SDP_FINGERPRINT_INVALID",                     \
    "not an SDP fingerprint")                                                  \
  X(kSdpInvalid, "ERR_SDP_INVALID", "the SDP does not parse")                  \
  X(kSendQueueFull, "ERR_SEND_QUEUE_FULL",                                     \
    "the send queue is full; the packet was dropped")                          \
  X(kSocket, "ERR_SOCKET", "a socket operation failed")                        \
  X(kSocketBind, "ERR_SOCKET_BIND", "the socket cannot be bound")              \
  X(kSocketBufferSize, "ERR_SOCKET_BUFFER_SIZE", "the socket is not open")     \
  X(kSocketSend, "ERR_SOCKET_SEND", "the socket refused the datagram")         \
  X(kSrtpAuthFailed, "ERR_SRTP_AUTH_FAILED", "the SRTP tag did not verify")    \
  X(kSrtpBufferTooSmall, "ERR_SRTP_BUFFER_TOO_SMALL",                          \
    "no room for the SRTP trailer")                                            \
  X(kSrtpFailed, "ERR_SRTP_FAILED",                                            \
    "the SRTP transform failed: out of memory, or OpenSSL or libsrtp refused") \
  X(kSrtpInit, "ERR_SRTP_INIT", "libsrtp could not be set up")                 \
  X(kSrtpKeyLength, "ERR_SRTP_KEY_LENGTH",                                     \
    "keys of the wrong length for the profile")                                \
  X(kSrtpKeyLimit, "ERR_SRTP_KEY_LIMIT",                                       \
    "the SRTP master key reached its limit")                                   \
  X(kSrtpMalformed, "ERR_SRTP_MALFORMED", "not an RTP or RTCP packet")         \
  X(kSrtpNotNegotiated, "ERR_SRTP_NOT_NEGOTIATED",                             \
    "the handshake agreed on no SRTP profile")                                 \
  X(kSrtpPacketTooLarge, "ERR_SRTP_PACKET_TOO_LARGE",                          \
    "the packet does not fit in one datagram")                                 \
  X(kSrtpReplayed, "ERR_SRTP_REPLAYED", "an SRTP packet seen before")          \
  X(kSrtpTooShort, "ERR_SRTP_TOO_SHORT", "shorter than a header and trailer")  \
  X(kTlsCertAltnameInvalid, "ERR_TLS_CERT_ALTNAME_INVALID",                    \
    "the certificate is not for this host")

#endif  // DTLS_SRTP_TRANSPORT_BASE_ERROR_CODES_H_
