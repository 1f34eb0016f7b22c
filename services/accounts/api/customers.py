"""Public identity endpoints the gateway forwards: registration and the signed-in customer."""
from flask import current_app
from flask_smorest import Blueprint

from services.common.request_id import current_request_id

from ..domain.audit import Actor
from ..domain.customers import get_customer, register_customer
from ..schemas import CustomerSchema, MeSchema, RegisterSchema
from .context import customer_session, system_session

blp = Blueprint("customers", __name__, url_prefix="/api/v1", description="Customers.")


@blp.post("/auth/register")
@blp.arguments(RegisterSchema)
@blp.response(201, CustomerSchema)
def register(data: dict):
    """Register a customer (public: the gateway forwards it without a customer)."""
    session = system_session()
    customer = register_customer(session, current_app.extensions["pii_cipher"](),
                                 Actor(None, "customer", current_request_id()), **data)
    session.commit()
    return customer


@blp.get("/me")
@blp.response(200, MeSchema)
def me():
    """The signed-in customer."""
    session, customer_id = customer_session()
    customer = get_customer(session, customer_id)
    cipher = current_app.extensions["pii_cipher"]()
    national_id = cipher.decrypt(customer.national_id_encrypted)
    return {"id": customer.id, "email": customer.email, "full_name": customer.full_name,
            "kyc_status": customer.kyc_status, "phone": cipher.decrypt(customer.phone_encrypted),
            "national_id": None if national_id is None else "*" * max(0, len(national_id) - 4) + national_id[-4:],
            "roles": customer.roles, "created_at": customer.created_at, "updated_at": customer.updated_at}
