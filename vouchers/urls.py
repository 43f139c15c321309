from django.urls import path

from . import views

urlpatterns = [
    path("", views.voucher_list, name="voucher_list"),
    path("<int:pk>/", views.voucher_detail, name="voucher_detail"),
    path("<int:pk>/pdf/", views.voucher_pdf_download, name="voucher_pdf"),
]
