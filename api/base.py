"""What the API's action endpoints share: who may call them, how they read a body and find their object."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from api.parsers import FormParser, JSONParser, MultiPartParser
from api.schema import ChowdaAutoSchema
from chowda_site.ids import id_number

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The object's id.")


def needs(*perms: str) -> type[BasePermission]:
    """A permission class: a signed-in user holding every one of ``perms``, as the admin checks them."""

    class Needs(BasePermission):
        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    return Needs


class ActionView(APIView):
    """An endpoint that calls one service: token or session sign-in, JSON or form bodies, sentences for errors."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    schema = ChowdaAutoSchema()

    def get_one(self, model, pk):
        """The ``model`` object of id ``pk``, or a 404 that says there is none."""
        number = id_number(pk)
        found = model.objects.filter(pk=number).first() if number is not None else None
        if found is None:
            raise NotFound(f"There is no {model._meta.verbose_name} with id {pk}.")
        return found
