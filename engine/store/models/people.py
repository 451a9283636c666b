"""Who works the processes: users, their roles, their failed sign-ins and API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.models.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Part of every session: bumped on sign-out, password change, role change and deactivation,
    # which ends every session made before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

class SignInFailures(Base):
    """Wrong passwords for one user name from one source address, counted to throttle guessing.

    Counted per name and address, so guesses from one address never lock out the user signing
    in from another; kept for unknown names too, so the answers do not tell which names exist."""

    __tablename__ = "sign_in_failures"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

class UserRole(Base):
    """A departmental role held by a user; stored case-folded, as lanes are matched."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(120), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")

class ApiToken(Base):
    """A user's key to the JSON API. Only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, so a user can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who made it: the user (signed in; None on tokens from before 0016) or an operator (cli:...).
    created_by: Mapped[str | None] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
