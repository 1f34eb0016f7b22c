"""The category master (API.md "Categories, rules, budgets, insights"): the categories a
statement line may carry, with a name, description, icon and colour for clients.

Revision ID: transactions_0014
Revises: transactions_0013
Create Date: 2026-12-02
"""
from alembic import op

revision = "transactions_0014"
down_revision = "transactions_0013"
branch_labels = None
depends_on = None

CATEGORIES = (
    ("groceries", "Groceries", "Supermarkets and food shops", "cart", "#2E7D32"),
    ("utilities", "Utilities", "Electricity, gas, water, phone and internet", "bolt", "#F9A825"),
    ("entertainment", "Entertainment", "Cinema, concerts, games and going out", "ticket", "#8E24AA"),
    ("transportation", "Transportation", "Public transport, fuel, taxis and parking", "bus", "#1565C0"),
    ("healthcare", "Healthcare", "Pharmacies, doctors and insurance", "heart", "#C62828"),
    ("shopping", "Shopping", "Clothes, electronics and other purchases", "bag", "#EF6C00"),
    ("subscriptions", "Subscriptions", "Streaming, software and memberships", "repeat", "#5E35B1"),
    ("salary", "Salary", "Pay and other regular income", "briefcase", "#00897B"),
    ("transfer", "Transfer", "Money between people", "arrows", "#546E7A"),
    ("other", "Other", "Everything else", "dots", "#757575"),
)

UPGRADE = r"""
CREATE TABLE categories (
    slug        text PRIMARY KEY CONSTRAINT category_slug CHECK (slug ~ '^[a-z][a-z_]{1,31}$'),
    name        text NOT NULL CONSTRAINT category_name CHECK (char_length(name) BETWEEN 1 AND 64),
    description text NOT NULL DEFAULT '',
    icon        text NOT NULL,
    color       text NOT NULL CONSTRAINT category_color CHECK (color ~ '^#[0-9A-F]{6}$'),
    position    smallint NOT NULL
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    for position, (slug, name, description, icon, color) in enumerate(CATEGORIES):
        op.execute(f"INSERT INTO categories (slug, name, description, icon, color, position) "
                   f"VALUES ('{slug}', '{name}', '{description}', '{icon}', '{color}', {position})")


def downgrade() -> None:
    op.execute("DROP TABLE categories")
