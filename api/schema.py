"""The OpenAPI description: every operation lists the errors it can answer with."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from api.serializers import ErrorSerializer

ERRORS = {
    "400": OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="The request is invalid: for each field, a list of sentences saying what is wrong with it "
        "(steps: one object per step, parameters: one list per parameter); or `detail` for the request as a whole.",
    ),
    "401": OpenApiResponse(ErrorSerializer, description="No or an invalid token or session."),
    "403": OpenApiResponse(ErrorSerializer, description="The user lacks the permission for this."),
    "404": OpenApiResponse(ErrorSerializer, description="There is no such object, or no such page of a list."),
    "409": OpenApiResponse(ErrorSerializer, description="It cannot be done now; `detail` says why."),
    "413": OpenApiResponse(ErrorSerializer, description="The request body is too large."),
}


class ChowdaAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERRORS[code], code, direction=direction)
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["401", "403"]
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        if has_body or self._is_list_view():
            codes.append("400")
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        if self.method == "DELETE":
            codes.append("409")
        if has_body:
            codes.append("413")
        return codes
