"""footfall's exceptions, all in one tree.

    FootfallError
    ├── ConfigError        a setting, flag or environment variable is wrong
    │   └── StoreMissing       a command that needs a store was pointed where there is none
    ├── DataDirLocked      another process owns the data folder
    ├── StoreError         ClickHouse said no
    │   ├── StoreUnavailable   cannot reach or open it (retry later)
    │   └── QueryError         it rejected a statement
    ├── MigrationError     the schema cannot be brought up to date
    ├── SiteError          a bad site name, origin pattern or setting
    │   ├── SiteNotFound
    │   └── SiteExists
    ├── AccountError       a bad e-mail, password, role or share link (collector.accounts)
    │   └── AccountNotFound
    ├── Overloaded         the sink cannot take more right now (retry later)
    └── ApiError           a request was refused: HTTP status, a short code and a detail

Foreign exceptions (chdb, clickhouse-connect, zlib, msgspec) are mapped into this tree where they are
first caught; HTTP responses are made from it in exactly one place (collector.server.responses).
"""


class FootfallError(Exception):
    """Base of every error footfall raises on purpose."""


class ConfigError(FootfallError):
    pass


class StoreMissing(ConfigError):
    pass


class DataDirLocked(FootfallError):
    def __init__(self, message: str, *, owner_pid: int | None = None, server_url: str | None = None) -> None:
        super().__init__(message)
        self.owner_pid = owner_pid
        self.server_url = server_url


class StoreError(FootfallError):
    pass


class StoreUnavailable(StoreError):
    pass


class QueryError(StoreError):
    pass


class MigrationError(FootfallError):
    pass


class SiteError(FootfallError):
    pass


class SiteNotFound(SiteError):
    pass


class SiteExists(SiteError):
    pass


class AccountError(FootfallError):
    pass


class AccountNotFound(AccountError):
    pass


class Overloaded(FootfallError):
    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ApiError(FootfallError):
    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
