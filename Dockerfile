# A Docker Space running the reference app, examples/space_app.rs.
#
#   docker build -t space-app .
#   docker run --rm -p 7860:7860 space-app                  # mock mode: no credentials, no SPACE_ID
#
# In a Space, put deploy/space-README.md at the Space's root as README.md: `hf_oauth: true` makes
# Spaces inject OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_SCOPES, OPENID_PROVIDER_URL, SPACE_ID
# and SPACE_HOST, so the app runs the real "Sign in with Hugging Face" flow.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS builder
WORKDIR /src

# The slim image has gcc and libc6-dev (ring, the TLS crypto, needs a C compiler); nothing else is
# needed: TLS is rustls, no OpenSSL.
COPY . .
RUN cargo build --release --locked --example space_app \
 && cp target/release/examples/space_app /usr/local/bin/space_app

# ---- run --------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# CA certificates to reach https://huggingface.co (discovery, tokens, userinfo, JWKS).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Spaces run containers as the user with uid 1000.
RUN useradd --create-home --uid 1000 user
USER user
WORKDIR /home/user/app

COPY --from=builder /usr/local/bin/space_app /usr/local/bin/space_app

# Listen on every interface (the Space's proxy must reach the app) on the Spaces port.
ENV HOST=0.0.0.0 \
    PORT=7860 \
    RUST_LOG=info
EXPOSE 7860

# Exec form: the app is PID 1 and gets SIGTERM directly, for a graceful shutdown.
CMD ["space_app"]
