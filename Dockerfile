# One image for every app service of docker-compose.yml (web, worker, poller, beat).
FROM python:3.13-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
# Exactly the locked versions, without the dev group; a lock that no longer
# matches pyproject.toml fails the build (--locked) instead of being re-resolved.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev
COPY . .
# A fixed uid, so the shared var volume stays readable after a rebuild. The code
# stays root's (the app cannot rewrite it); var/ (secret key, RCON key, static
# files) is the app's alone, 0700. A new named volume copies this ownership.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home left4me \
    && mkdir -p /app/var && chown left4me:left4me /app/var && chmod 0700 /app/var
USER left4me
EXPOSE 8000
# The web server; compose's worker, poller and beat give commands of their own.
CMD ["python", "-m", "left4me.serve", "--listen", "0.0.0.0:8000"]
