# Two stages: build the wheel, then install it into a slim runtime image.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
# dependencies first, so their layer caches across changes to app/
COPY pyproject.toml README.md ./
RUN mkdir -p app migrations && touch app/__init__.py migrations/__init__.py \
    && pip wheel --no-cache-dir --wheel-dir /wheels . \
    && rm /wheels/era_recon-*.whl
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 era
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY contracts /srv/contracts
WORKDIR /srv
ENV ERA_RECON_CONTRACTS=/srv/contracts \
    DATABASE_URL=sqlite:////srv/data/era-recon.db
RUN mkdir -p /srv/data && chown era /srv/data
USER era
EXPOSE 8000
CMD ["era-recon", "serve", "--host", "0.0.0.0"]
