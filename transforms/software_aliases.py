"""Alias tables for software: the names installed software and license sources use for one
product, and the publishers' companies beyond the manufacturers'.

Microsoft's subscriptions are named by a string id (`SPE_E3`) and a GUID in the admin
center's exports and the Graph API; `MICROSOFT_SKUS` maps both to the product name people
know. The ids, GUIDs and names are Microsoft's published "Product names and service plan
identifiers for licensing" (learn.microsoft.com/entra/identity/users/licensing-service-plan-
reference), for the common SKUs; names follow Microsoft's current naming (Entra ID, not Azure
Active Directory; Visio Plan 2, not Visio Online Plan 2), as the msgraph connector does. The
full list (400+ SKUs) can be given to a mapping as `values:`.
"""

from __future__ import annotations

#: SKU string id → (GUID, product name)
MICROSOFT_SKUS: dict[str, tuple[str, str]] = {
    "ENTERPRISEPREMIUM": ("c7df2760-2c81-4ef7-b578-5b5392b571df", "Office 365 E5"),
    "ENTERPRISEPACK": ("6fd2c87f-b296-42f0-b197-1e91e994b900", "Office 365 E3"),
    "STANDARDPACK": ("18181a46-0d4e-45cd-891e-60aabd171b4e", "Office 365 E1"),
    "SPE_E3": ("05e9a617-0261-4cee-bb44-138d3ef5d965", "Microsoft 365 E3"),
    "SPE_E5": ("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "Microsoft 365 E5"),
    "SPE_F1": ("66b55226-6b4f-492c-910c-a3b7a3c9d993", "Microsoft 365 F3"),
    "SPB": ("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "Microsoft 365 Business Premium"),
    "O365_BUSINESS_PREMIUM": ("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "Microsoft 365 Business Standard"),
    "O365_BUSINESS_ESSENTIALS": ("3b555118-da6a-4418-894f-7df1e2096870", "Microsoft 365 Business Basic"),
    "OFFICESUBSCRIPTION": ("c2273bd0-dff7-4215-9ef5-2c7bcfb06425", "Microsoft 365 Apps for enterprise"),
    "O365_BUSINESS": ("cdd28e44-67e3-425e-be4c-737fab2899d3", "Microsoft 365 Apps for business"),
    "EXCHANGESTANDARD": ("4b9405b0-7788-4568-add1-99614e613b69", "Exchange Online (Plan 1)"),
    "EXCHANGEENTERPRISE": ("19ec0d23-8335-4cbd-94ac-6050e30712fa", "Exchange Online (Plan 2)"),
    "EMS": ("efccb6f7-5641-4e0e-bd10-b4976e1bf68e", "Enterprise Mobility + Security E3"),
    "EMSPREMIUM": ("b05e124f-c7cc-45a0-a6aa-8cf78c946968", "Enterprise Mobility + Security E5"),
    "AAD_PREMIUM": ("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "Microsoft Entra ID P1"),
    "AAD_PREMIUM_P2": ("84a661c4-e949-4bd2-a560-ed7766fcaf2b", "Microsoft Entra ID P2"),
    "POWER_BI_PRO": ("f8a1db68-be16-40ed-86d5-cb42ce701560", "Power BI Pro"),
    "POWER_BI_STANDARD": ("a403ebcc-fae0-4ca2-8c8c-7a907fd6c235", "Power BI (free)"),
    "PROJECTPROFESSIONAL": ("53818b1b-4a27-454b-8896-0dba576410e6", "Project Plan 3"),
    "VISIOCLIENT": ("c5928f49-12ba-48f7-ada3-0d743a3601d5", "Visio Plan 2"),
    "FLOW_FREE": ("f30db892-07e9-47e9-837c-80727f46fd3d", "Power Automate Free"),
    "TEAMS_EXPLORATORY": ("710779e8-3d4a-4c88-adb9-386c958d1fdf", "Microsoft Teams Exploratory"),
    "Microsoft_Teams_Premium": ("36a0f3b3-adb5-49ea-bf66-762134cf063a", "Microsoft Teams Premium"),
    "CRMSTANDARD": ("d17b27af-3f49-4822-99f9-56a661538792", "Microsoft Dynamics CRM Online"),
    "WIN_DEF_ATP": ("111046dd-295b-4d6d-9724-d52ac90bd1f2", "Microsoft Defender for Endpoint P2"),
}

#: product name → names it is installed or listed under (after the language, architecture
#: and version noise is stripped: `Zoom Workplace (64-bit)` is looked up as `Zoom Workplace`)
_PRODUCTS: dict[str, tuple[str, ...]] = {
    "Microsoft 365 Apps for enterprise": (
        "microsoft 365 apps for enterprise",
        "microsoft office 365 proplus",
        "office 365 proplus",
    ),
    # the Visio desktop app on a subscription comes only with Plan 2 (Plan 1 is web-only);
    # perpetual editions keep their own names (`Microsoft Visio Professional 2021`)
    "Visio Plan 2": ("microsoft visio", "microsoft visio plan 2", "visio online plan 2"),
    "Slack": ("slack", "slack desktop", "slack deployment", "slack machine msi", "slack machine"),
    "Zoom": ("zoom", "zoom workplace", "zoom meetings", "zoom us", "zoom.us", "zoom client for meetings"),
    "Google Chrome": ("google chrome", "chrome", "google chrome stable"),
    "Mozilla Firefox": ("mozilla firefox", "firefox"),
    "7-Zip": ("7 zip", "7zip", "p7zip"),
    "Microsoft Edge": ("microsoft edge",),
    "Microsoft Teams": ("microsoft teams", "teams machine wide installer", "microsoft teams classic"),
    "Adobe Acrobat Reader": ("adobe acrobat reader", "adobe acrobat reader dc", "adobe reader"),
    "Adobe Acrobat": ("adobe acrobat", "adobe acrobat dc", "adobe acrobat pro", "adobe acrobat pro dc"),
}

#: publisher names beyond the manufacturers' table (transforms.manufacturers)
_PUBLISHERS: dict[str, tuple[str, ...]] = {
    "Adobe": ("adobe", "adobe systems", "adobe systems incorporated", "adobe inc"),
    "Zoom": ("zoom", "zoom video communications", "zoom communications"),
    "Slack Technologies": ("slack", "slack technologies", "slack technologies llc"),
    "Mozilla": ("mozilla", "mozilla corporation", "mozilla foundation"),
    "Igor Pavlov": ("igor pavlov",),
    "Python Software Foundation": ("python software foundation",),
    "The Document Foundation": ("the document foundation",),
}


def _flat(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias: name for name, aliases in table.items() for alias in aliases}


BUILTIN_PRODUCT_ALIASES: dict[str, str] = {
    **_flat(_PRODUCTS),
    **{sku: name for sku, (_, name) in MICROSOFT_SKUS.items()},
    **{guid: name for guid, name in MICROSOFT_SKUS.values()},
}
BUILTIN_PUBLISHER_ALIASES: dict[str, str] = _flat(_PUBLISHERS)
