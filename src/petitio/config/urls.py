from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path
from django_otp.admin import OTPAdminSite
from django_otp.forms import OTPAuthenticationForm

from petitio.api.v1 import api as api_v1
from petitio.config import metrics, observability
from petitio.moderation import views as moderation
from petitio.notifications import views as notifications
from petitio.petitions import views as petitions
from petitio.responses import views as responses
from petitio.signatures import views as signatures

urlpatterns = [
    path("", petitions.home, name="home"),
    path("petitions/", petitions.petition_list, name="petition-list"),
    path("petitions/new/", petitions.petition_new, name="petition-new"),
    path("petitions/similar.json", petitions.petition_similar_json, name="petition-similar"),
    path("petitions/new/check-your-email/", petitions.petition_created, name="petition-created"),
    path("petitions/<int:petition_id>/", petitions.petition_detail, name="petition-detail"),
    path("petitions/<int:petition_id>/sign/", petitions.petition_sign, name="petition-sign"),
    path(
        "petitions/<int:petition_id>/check-your-email/",
        petitions.petition_check_email,
        name="petition-check-email",
    ),
    path("petitions/<int:petition_id>/resend/", petitions.petition_resend, name="petition-resend"),
    path("petitions/<int:petition_id>/count.json", petitions.petition_count, name="petition-count"),
    path(
        "petitions/<int:petition_id>/confirm/<str:token>/",
        signatures.signature_confirm_page,
        name="signature-confirm",
    ),
    path(
        "petitions/<int:petition_id>/confirmed/",
        signatures.signature_confirmed,
        name="signature-confirmed",
    ),
    path("responses/", responses.response_list, name="response-list"),
    path("overdue/", responses.overdue_list, name="overdue-list"),
    path("official/", responses.official_dashboard, name="official-dashboard"),
    path("official/respond/<int:addressee_id>/", responses.response_edit, name="response-edit"),
    path("moderation/", moderation.moderation_queue, name="moderation-queue"),
    path(
        "moderation/petitions/<int:petition_id>/",
        moderation.moderation_petition,
        name="moderation-petition",
    ),
    path(
        "moderation/petitions/<int:petition_id>/<str:decision>/",
        moderation.moderation_decide,
        name="moderation-decide",
    ),
    path("unsubscribe/<str:token>/", notifications.unsubscribe, name="unsubscribe"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            # Staff log in with a password and a TOTP code when 2-step is required.
            authentication_form=OTPAuthenticationForm if settings.ADMIN_REQUIRES_OTP else None
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/v1/", api_v1.urls),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]

if settings.ADMIN_REQUIRES_OTP:
    admin.site.__class__ = OTPAdminSite

handler400 = "petitio.config.errors.bad_request"
handler403 = "petitio.config.errors.forbidden"
handler404 = "petitio.config.errors.not_found"
handler500 = "petitio.config.errors.server_error"
