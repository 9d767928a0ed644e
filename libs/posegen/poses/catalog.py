"""The seed pose library: 6 root categories, 22 sub-categories and their poses with OpenPose keypoints.

The poses are written as angles (``catalog_poses_work``, ``catalog_poses_life``) and their keypoints are
solved by ``kinematics`` on every call, so the data stays readable and the output deterministic.
"""

from __future__ import annotations

from posegen.poses.catalog_poses_life import LIFE_POSES
from posegen.poses.catalog_poses_work import WORK_POSES
from posegen.poses.specs import DIFFICULTIES, GENDER_SUITABILITIES, CategorySpec, PoseSpec

__all__ = ["CATEGORIES", "DIFFICULTIES", "GENDER_SUITABILITIES", "CategorySpec", "PoseSpec", "build_poses"]

# slug, name, description, icon, colour
_ROOTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("professional", "Professional", "Business portraits, presentations and office scenes.", "briefcase",
     "#1E40AF"),
    ("e-commerce", "E-commerce", "Product and apparel shots for online stores and catalogues.",
     "shopping-bag", "#059669"),
    ("fashion", "Fashion", "Editorial, runway, street-style and seated fashion poses.", "sparkles", "#DB2777"),
    ("modest-fashion", "Modest Fashion", "Graceful, covered silhouettes for hijab and modest wear.", "moon",
     "#7C3AED"),
    ("casual-lifestyle", "Casual & Lifestyle", "Natural, candid poses from everyday life.", "coffee",
     "#EA580C"),
    ("sports", "Sports & Fitness", "Training, yoga, athletics and team sports in motion.", "dumbbell",
     "#DC2626"),
)  # fmt: skip

# parent slug, slug, name, description, icon; display order follows the order within a parent.
_SUBCATEGORIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("professional", "corporate-portrait", "Corporate Portrait",
     "Standing portraits for profiles and team pages.", "user-tie"),
    ("professional", "presentation", "Presentation & Speaking", "Gestures for talks, pitches and stages.",
     "presentation"),
    ("professional", "office-desk", "Office & Desk", "Working at a desk, on the phone, around the office.",
     "laptop"),
    ("professional", "business-casual", "Business Casual", "Relaxed poses in smart-casual settings.", "shirt"),
    ("e-commerce", "product-holding", "Product Holding", "Showing a product in one or both hands.", "package"),
    ("e-commerce", "model-front", "Model Front View", "Front views that show how a garment fits.", "user"),
    ("e-commerce", "model-side-back", "Model Side & Back View", "Profiles and rear views for product pages.",
     "rotate-ccw"),
    ("e-commerce", "catalogue", "Catalogue Basics", "Dependable variations for catalogue shoots.", "book-open"),
    ("fashion", "editorial", "Editorial", "Angular, dramatic poses for magazine stories.", "camera"),
    ("fashion", "runway", "Runway", "Catwalk strides, turns and end-of-runway stops.", "footprints"),
    ("fashion", "street-style", "Street Style", "Urban, on-the-move fashion moments.", "map-pin"),
    ("fashion", "fashion-seated", "Seated Fashion", "Chairs, floors and steps with attitude.", "armchair"),
    ("modest-fashion", "hijab-catalogue", "Hijab Catalogue", "Catalogue poses for hijab and abaya collections.",
     "layers"),
    ("modest-fashion", "elegant-standing", "Elegant Standing", "Poised standing poses with soft gestures.",
     "flower"),
    ("modest-fashion", "seated-modest", "Seated Modest", "Graceful seated and kneeling poses.", "sofa"),
    ("casual-lifestyle", "walking", "Walking", "Strolls, commutes and looks over the shoulder.", "walk"),
    ("casual-lifestyle", "sitting", "Sitting & Lounging", "Floors, sofas and cafe chairs.", "couch"),
    ("casual-lifestyle", "leaning", "Leaning", "Against walls, railings and counters.", "align-left"),
    ("casual-lifestyle", "candid", "Candid Moments", "Unposed-looking everyday gestures.", "smile"),
    ("sports", "fitness", "Fitness & Gym", "Strength and conditioning exercises.", "dumbbell"),
    ("sports", "yoga", "Yoga & Stretching", "Balances, standing asanas and stretches.", "lotus"),
    ("sports", "athletics", "Athletics & Team Sports", "Sprints, jumps, shots and kicks.", "trophy"),
)  # fmt: skip


def _categories() -> tuple[CategorySpec, ...]:
    categories: list[CategorySpec] = []
    for root_order, (slug, name, description, icon, color) in enumerate(_ROOTS, start=1):
        categories.append(CategorySpec(slug, name, description, None, icon, color, root_order))
        children = [entry for entry in _SUBCATEGORIES if entry[0] == slug]
        for order, (_, sub_slug, sub_name, sub_description, sub_icon) in enumerate(children, start=1):
            categories.append(CategorySpec(sub_slug, sub_name, sub_description, slug, sub_icon, color, order))
    return tuple(categories)


CATEGORIES: tuple[CategorySpec, ...] = _categories()


def build_poses() -> list[PoseSpec]:
    """Every seed pose with its keypoints solved, in catalogue order."""
    return [seed.to_spec() for seed in (*WORK_POSES, *LIFE_POSES)]
