"""Seed poses of the professional, e-commerce and fashion categories."""

from __future__ import annotations

from posegen.poses import gestures as g
from posegen.poses.kinematics import Limb, PoseParams
from posegen.poses.specs import PoseSeed

# fmt: off
WORK_POSES: tuple[PoseSeed, ...] = (
    # Professional: corporate portrait
    PoseSeed(
        "corporate-portrait", "Classic Front Stance",
        "Square to the camera with relaxed arms and feet hip-width apart, the standard profile-photo base.",
        ("front", "standing", "headshot", "confident"), "beginner", "unisex",
        PoseParams(right_leg=g.APART, left_leg=g.APART), is_featured=True,
    ),
    PoseSeed(
        "corporate-portrait", "Confident Crossed Arms",
        "Arms folded across the chest with the body angled slightly and the face turned back to the lens.",
        ("crossed-arms", "standing", "confident", "corporate"), "beginner", "unisex",
        PoseParams(yaw=20, head_turn=-15, right_arm=g.CROSSED_OVER, left_arm=g.CROSSED_UNDER,
                   right_leg=g.APART, left_leg=g.APART),
        is_featured=True,
    ),
    PoseSeed(
        "corporate-portrait", "Three-Quarter Power Stance",
        "Body at three-quarters in a wide stance, one hand on the hip and the other in a pocket.",
        ("three-quarter", "standing", "hand-in-pocket", "executive"), "intermediate", "unisex",
        PoseParams(yaw=35, head_turn=-30, right_arm=g.HAND_ON_HIP, left_arm=g.IN_POCKET, right_leg=g.WIDE,
                   left_leg=g.WIDE),
    ),
    PoseSeed(
        "corporate-portrait", "Hands Clasped Welcome",
        "Slightly angled with the hands loosely clasped in front and a friendly head tilt towards the lens.",
        ("clasped-hands", "approachable", "standing", "welcome"), "beginner", "unisex",
        PoseParams(yaw=-20, head_turn=15, head_tilt=6, right_arm=g.CLASPED_LOW, left_arm=g.CLASPED_LOW,
                   left_leg=g.RELAXED_KNEE),
    ),
    # Professional: presentation and speaking
    PoseSeed(
        "presentation", "Presenter Open Gesture",
        "Both forearms forward with open palms, as if explaining a point to an audience.",
        ("presenting", "gesture", "speaking", "open-hands"), "intermediate", "unisex",
        PoseParams(yaw=15, right_arm=g.OPEN_PALM, left_arm=g.OPEN_PALM, right_leg=g.APART, left_leg=g.APART),
        is_featured=True,
    ),
    PoseSeed(
        "presentation", "Pointing to Screen",
        "Turned towards a screen with one arm extended to point while the face stays towards the room.",
        ("pointing", "presentation", "screen", "gesture"), "intermediate", "unisex",
        PoseParams(yaw=-35, head_turn=25, right_arm=g.POINT_OUT, left_arm=g.OPEN_PALM, right_leg=g.APART,
                   left_leg=g.APART),
    ),
    PoseSeed(
        "presentation", "Keynote Stride",
        "Walking across a stage mid-sentence, one hand gesturing and the other swinging back.",
        ("stage", "walking", "keynote", "gesture"), "advanced", "unisex",
        PoseParams(yaw=20, right_arm=g.OPEN_PALM, left_arm=g.SWING_BACK, right_leg=g.STEP_FORWARD,
                   left_leg=g.STEP_BACK),
        is_premium=True,
    ),
    PoseSeed(
        "presentation", "Thoughtful Chin Touch",
        "One hand at the chin and the other arm across the waist, listening to a question.",
        ("thinking", "hand-to-chin", "standing", "portrait"), "intermediate", "unisex",
        PoseParams(yaw=15, head_tilt=5, right_arm=g.HAND_TO_CHIN, left_arm=g.ACROSS_WAIST,
                   right_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "presentation", "Attentive Listener",
        "Standing tall with the hands clasped behind the back while listening to a speaker.",
        ("listening", "hands-behind-back", "standing", "attentive"), "beginner", "unisex",
        PoseParams(yaw=-15, head_turn=10, head_nod=5, right_arm=g.BEHIND_BACK, left_arm=g.BEHIND_BACK,
                   right_leg=g.APART, left_leg=g.APART),
    ),
    # Professional: office and desk
    PoseSeed(
        "office-desk", "Seated at Desk Typing",
        "Sitting upright at a desk with both forearms forward on the keyboard.",
        ("seated", "desk", "laptop", "working"), "beginner", "unisex",
        PoseParams(yaw=35, lean=10, head_nod=10, right_arm=g.TYPING, left_arm=g.TYPING, right_leg=g.SEATED,
                   left_leg=g.SEATED),
    ),
    PoseSeed(
        "office-desk", "Leaning Back in Chair",
        "Reclined in an office chair with the hands laced behind the head and the knees apart.",
        ("seated", "relaxed", "hands-behind-head", "office"), "intermediate", "unisex",
        PoseParams(yaw=25, lean=-15, right_arm=g.BEHIND_HEAD, left_arm=g.BEHIND_HEAD,
                   right_leg=g.SEATED_APART, left_leg=g.SEATED_APART),
    ),
    PoseSeed(
        "office-desk", "Perched on Desk Edge",
        "Half-sitting on the edge of a desk, hands resting on it beside the hips and ankles crossed.",
        ("perched", "desk", "casual", "confident"), "intermediate", "unisex",
        PoseParams(yaw=20, right_arm=g.HANDS_ON_LEDGE, left_arm=g.HANDS_ON_LEDGE, right_leg=Limb(40, 90, 10, 0),
                   left_leg=Limb(40, 110, 20, 160)),
        is_premium=True,
    ),
    PoseSeed(
        "office-desk", "Phone Call at Window",
        "Standing side-on with a phone at the ear and the other hand in a pocket.",
        ("phone", "standing", "call", "office"), "beginner", "unisex",
        PoseParams(yaw=60, head_turn=-15, right_arm=g.PHONE_TO_EAR, left_arm=g.IN_POCKET,
                   left_leg=g.RELAXED_KNEE),
    ),
    # Professional: business casual
    PoseSeed(
        "business-casual", "Hands in Pockets Smile",
        "Both hands in the trouser pockets, weight on one leg and a relaxed head tilt.",
        ("hands-in-pockets", "relaxed", "standing", "approachable"), "beginner", "unisex",
        PoseParams(yaw=10, head_tilt=-5, right_arm=g.IN_POCKET, left_arm=g.IN_POCKET,
                   left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "business-casual", "Jacket Over Shoulder",
        "A jacket hooked over one shoulder with a raised hand, the other hand in a pocket.",
        ("jacket", "over-shoulder", "smart-casual", "standing"), "intermediate", "unisex",
        PoseParams(yaw=25, head_turn=-15, right_arm=g.OVER_SHOULDER, left_arm=g.IN_POCKET,
                   right_leg=g.APART, left_leg=g.RELAXED_KNEE),
        is_premium=True,
    ),
    PoseSeed(
        "business-casual", "Coffee Walk",
        "Walking to the office with a coffee cup held in front and the free arm swinging back.",
        ("walking", "coffee", "commute", "lifestyle"), "beginner", "unisex",
        PoseParams(yaw=30, right_arm=g.CARRY_CUP, left_arm=g.SWING_BACK, right_leg=g.STEP_BACK,
                   left_leg=g.STEP_FORWARD),
    ),
    PoseSeed(
        "business-casual", "Laptop Under Arm",
        "Standing at an angle with a laptop tucked under one arm, ready for a meeting.",
        ("laptop", "standing", "meeting", "smart-casual"), "beginner", "unisex",
        PoseParams(yaw=-30, head_turn=20, right_arm=g.TUCK_UNDER_ARM, left_arm=g.SWING_FORWARD,
                   right_leg=g.RELAXED_KNEE),
    ),
    # E-commerce: product holding
    PoseSeed(
        "product-holding", "Product at Chest Level",
        "Both hands hold a product in front of the chest, square to the camera.",
        ("product", "both-hands", "front", "showcase"), "beginner", "unisex",
        PoseParams(right_arm=g.HOLD_AT_CHEST, left_arm=g.HOLD_AT_CHEST, right_leg=g.APART, left_leg=g.APART),
        is_featured=True,
    ),
    PoseSeed(
        "product-holding", "One-Hand Product Showcase",
        "One hand raises a product beside the face while the head tilts towards it.",
        ("product", "one-hand", "beside-face", "showcase"), "beginner", "unisex",
        PoseParams(yaw=10, head_tilt=8, right_arm=g.SHOW_BESIDE_FACE, right_leg=g.APART, left_leg=g.APART),
    ),
    PoseSeed(
        "product-holding", "Shopping Bag Carry",
        "A shopping bag hung in the crook of a raised forearm, the other arm relaxed.",
        ("shopping-bag", "carry", "standing", "retail"), "beginner", "unisex",
        PoseParams(yaw=30, head_turn=-20, right_arm=g.BAG_ON_FOREARM, left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "product-holding", "Presenting Product Forward",
        "Arms extended towards the camera, offering a product in both hands.",
        ("product", "extended-arms", "offering", "front"), "intermediate", "unisex",
        PoseParams(lean=5, right_arm=g.OFFER_FORWARD, left_arm=g.OFFER_FORWARD, right_leg=g.APART,
                   left_leg=g.APART),
        is_premium=True,
    ),
    # E-commerce: model front view
    PoseSeed(
        "model-front", "Garment Fit Stance",
        "Arms held slightly away from the body so the silhouette of the garment stays visible.",
        ("front", "fit", "catalogue", "standing"), "beginner", "unisex",
        PoseParams(right_arm=g.HELD_AWAY, left_arm=g.HELD_AWAY, right_leg=g.WIDE, left_leg=g.WIDE),
        is_featured=True,
    ),
    PoseSeed(
        "model-front", "Hand on Hip Front",
        "Facing the camera with one hand on the hip and the weight shifted onto the other leg.",
        ("hand-on-hip", "front", "standing", "catalogue"), "beginner", "unisex",
        PoseParams(side_bend=4, right_arm=g.HAND_ON_HIP, left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "model-front", "Both Hands on Hips",
        "A wide, confident power stance with both hands on the hips.",
        ("hands-on-hips", "front", "power", "confident"), "beginner", "unisex",
        PoseParams(right_arm=g.HAND_ON_HIP, left_arm=g.HAND_ON_HIP, right_leg=g.WIDE, left_leg=g.WIDE),
    ),
    PoseSeed(
        "model-front", "Arms Raised Stretch Fit",
        "Both arms raised overhead to show how activewear stretches and moves.",
        ("arms-up", "activewear", "front", "stretch"), "intermediate", "unisex",
        PoseParams(right_arm=g.OVERHEAD, left_arm=g.OVERHEAD, right_leg=g.APART, left_leg=g.APART),
    ),
    # E-commerce: model side and back view
    PoseSeed(
        "model-side-back", "Full Profile Standing",
        "A clean side view with the arms relaxed, showing the garment's profile.",
        ("profile", "side", "standing", "catalogue"), "beginner", "unisex",
        PoseParams(yaw=90), is_featured=True,
    ),
    PoseSeed(
        "model-side-back", "Back View Over Shoulder",
        "Turned away from the camera and looking back over the shoulder.",
        ("back", "over-shoulder", "standing", "rear"), "intermediate", "unisex",
        PoseParams(yaw=160, head_turn=-75, left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "model-side-back", "Straight Back View",
        "Facing directly away with the arms slightly out, for the back of a garment.",
        ("back", "rear", "garment", "standing"), "beginner", "unisex",
        PoseParams(yaw=180, right_arm=g.HELD_AWAY, left_arm=g.HELD_AWAY, right_leg=g.APART, left_leg=g.APART),
    ),
    PoseSeed(
        "model-side-back", "Three-Quarter Turn",
        "Body turned to three-quarters with a hand on the far hip and the face towards the camera.",
        ("three-quarter", "turn", "standing", "catalogue"), "beginner", "unisex",
        PoseParams(yaw=-45, head_turn=25, left_arm=g.HAND_ON_HIP, right_leg=g.APART),
    ),
    # E-commerce: catalogue basics
    PoseSeed(
        "catalogue", "Walking Toward Camera",
        "Mid-step towards the lens with a natural arm swing.",
        ("walking", "front", "movement", "catalogue"), "intermediate", "unisex",
        PoseParams(yaw=-15, right_arm=g.SWING_FORWARD, left_arm=Limb(25, -90, 25, -60), right_leg=g.STEP_BACK,
                   left_leg=Limb(30, 90, 8, -90)),
    ),
    PoseSeed(
        "catalogue", "Stool Sit Front",
        "Seated on a tall stool facing the camera, one foot on the rung and hands on the thighs.",
        ("seated", "stool", "front", "catalogue"), "intermediate", "unisex",
        PoseParams(yaw=10, right_arm=g.ON_THIGH, left_arm=g.ON_THIGH, right_leg=g.SEATED,
                   left_leg=Limb(100, 90, 25, -90)),
    ),
    PoseSeed(
        "catalogue", "Contrapposto Weight Shift",
        "Weight on one leg, the free foot crossing in front and the shoulders gently counter-tilted.",
        ("contrapposto", "weight-shift", "standing", "natural"), "beginner", "unisex",
        PoseParams(yaw=15, roll=-3, side_bend=6, head_tilt=-6, left_arm=g.HELD_AWAY, left_leg=g.CROSSING),
    ),
    PoseSeed(
        "catalogue", "Pocket and Look Away",
        "Three-quarter stance with a hand in the pocket, gazing away from the camera.",
        ("hand-in-pocket", "looking-away", "three-quarter", "candid"), "beginner", "unisex",
        PoseParams(yaw=30, head_turn=40, right_arm=g.IN_POCKET, right_leg=g.APART),
    ),
    # Fashion: editorial
    PoseSeed(
        "editorial", "Angular Elbows Editorial",
        "Both hands on the head with sharp elbows and a wide stance for a graphic silhouette.",
        ("editorial", "angular", "hands-on-head", "dramatic"), "advanced", "unisex",
        PoseParams(head_tilt=10, right_arm=g.HAND_ON_HEAD, left_arm=g.HAND_ON_HEAD, right_leg=g.WIDE,
                   left_leg=g.WIDE),
        is_featured=True, is_premium=True,
    ),
    PoseSeed(
        "editorial", "Dramatic Side Lean",
        "The torso bends to one side with a hand on the head and the other on the hip.",
        ("editorial", "side-bend", "dramatic", "arm-raised"), "advanced", "female",
        PoseParams(side_bend=-18, roll=5, right_arm=g.HAND_ON_HEAD, left_arm=g.HAND_ON_HIP,
                   right_leg=Limb(15, 0, 15, 0)),
        is_premium=True,
    ),
    PoseSeed(
        "editorial", "Crouched Editorial",
        "A deep crouch facing the camera, forearms resting on the knees.",
        ("crouch", "squat", "editorial", "low"), "advanced", "unisex",
        PoseParams(lean=25, head_nod=-15, right_arm=g.FOREARMS_ON_KNEES, left_arm=g.FOREARMS_ON_KNEES,
                   right_leg=g.DEEP_SQUAT, left_leg=g.DEEP_SQUAT),
        is_premium=True,
    ),
    PoseSeed(
        "editorial", "Collar Pop Profile",
        "Near-profile with both hands lifting the collar and the chin turned towards the lens.",
        ("collar", "profile", "editorial", "hands-up"), "intermediate", "unisex",
        PoseParams(yaw=-70, head_turn=30, right_arm=g.AT_COLLAR, left_arm=g.AT_COLLAR, right_leg=g.RELAXED_KNEE),
    ),
    # Fashion: runway
    PoseSeed(
        "runway", "Runway Walk Front",
        "Walking straight at the camera with one foot crossing in front of the other.",
        ("runway", "walking", "front", "catwalk"), "intermediate", "female",
        PoseParams(right_arm=Limb(10, -60, 10, -40), left_arm=Limb(12, 70, 20, 80),
                   right_leg=Limb(20, 120, 8, -90), left_leg=g.STEP_BACK),
        is_featured=True,
    ),
    PoseSeed(
        "runway", "End of Runway Hip Pose",
        "The stop at the end of the catwalk: hand on the hip, feet apart, weight on one side.",
        ("runway", "hand-on-hip", "pause", "catwalk"), "intermediate", "female",
        PoseParams(yaw=10, side_bend=-5, right_arm=g.HAND_ON_HIP, right_leg=Limb(12, 20, 12, 10)),
    ),
    PoseSeed(
        "runway", "Runway Turn",
        "Turning away at the end of the runway, looking back at the photographers.",
        ("runway", "turn", "over-shoulder", "catwalk"), "advanced", "unisex",
        PoseParams(yaw=135, head_turn=-60, right_arm=g.HAND_ON_HIP, right_leg=g.APART, left_leg=g.APART),
        is_premium=True,
    ),
    PoseSeed(
        "runway", "Runway Side Stride",
        "A long catwalk stride seen from the side, arms swinging in opposition.",
        ("runway", "profile", "stride", "catwalk"), "intermediate", "unisex",
        PoseParams(yaw=90, right_arm=g.SWING_BACK, left_arm=g.SWING_FORWARD, right_leg=g.STEP_FORWARD,
                   left_leg=g.STEP_BACK),
    ),
    # Fashion: street style
    PoseSeed(
        "street-style", "Crossing the Street",
        "Caught mid-stride at three-quarters while glancing down the street.",
        ("street", "walking", "candid", "urban"), "beginner", "unisex",
        PoseParams(yaw=40, head_turn=35, right_arm=g.SWING_FORWARD, left_arm=g.SWING_BACK,
                   right_leg=g.STEP_BACK, left_leg=g.STEP_FORWARD),
        is_featured=True,
    ),
    PoseSeed(
        "street-style", "Sunglasses Adjust",
        "One hand at the temple adjusting sunglasses, the other hand in a pocket.",
        ("street", "sunglasses", "hand-to-face", "urban"), "intermediate", "unisex",
        PoseParams(yaw=15, right_arm=g.HAND_TO_TEMPLE, left_arm=g.IN_POCKET, left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "street-style", "Curb Sit",
        "Sitting low on a curb with the knees up and the hands hanging between them.",
        ("street", "sitting", "low", "urban"), "intermediate", "unisex",
        PoseParams(yaw=55, lean=25, right_arm=g.BETWEEN_KNEES, left_arm=g.BETWEEN_KNEES,
                   right_leg=g.KNEES_UP, left_leg=g.KNEES_UP),
    ),
    PoseSeed(
        "street-style", "Wall Foot Up",
        "Leaning back on a wall with one foot planted against it behind.",
        ("street", "leaning", "wall", "foot-up"), "intermediate", "unisex",
        PoseParams(yaw=30, lean=-5, right_arm=g.IN_POCKET, left_arm=g.HOLD_STRAP,
                   left_leg=Limb(45, 90, 60, -90)),
    ),
    # Fashion: seated
    PoseSeed(
        "fashion-seated", "Chair Straddle",
        "Sitting backwards on a chair, legs wide and arms folded on the backrest.",
        ("seated", "chair", "straddle", "editorial"), "advanced", "unisex",
        PoseParams(lean=10, right_arm=Limb(60, 100, 95, 170), left_arm=Limb(60, 100, 85, 175),
                   right_leg=Limb(85, 40, 10, 0), left_leg=Limb(85, 40, 10, 0)),
        is_premium=True,
    ),
    PoseSeed(
        "fashion-seated", "Crossed Legs Elegant",
        "Seated at an angle with one leg crossed over the other and hands resting on the knee.",
        ("seated", "crossed-legs", "elegant", "chair"), "beginner", "female",
        PoseParams(yaw=35, right_arm=g.ON_THIGH, left_arm=g.IN_LAP, right_leg=g.SEATED,
                   left_leg=g.LEG_CROSSED_OVER),
    ),
    PoseSeed(
        "fashion-seated", "Floor Sit Lean Back",
        "Sitting on the floor leaning back on the hands, one leg long and one knee up.",
        ("floor", "seated", "lean-back", "relaxed"), "intermediate", "unisex",
        PoseParams(yaw=60, lean=-20, right_arm=g.PROP_BEHIND, left_arm=g.PROP_BEHIND,
                   right_leg=Limb(90, 90, 90, 90), left_leg=g.KNEES_UP),
    ),
    PoseSeed(
        "fashion-seated", "Stair Step Sit",
        "Seated on a step, elbow on the knee and chin resting on the hand.",
        ("seated", "stairs", "hand-on-chin", "moody"), "intermediate", "unisex",
        PoseParams(yaw=20, lean=20, right_arm=g.HAND_TO_CHIN, left_arm=g.BETWEEN_KNEES,
                   right_leg=Limb(110, 80, 20, 90), left_leg=Limb(105, 95, 25, 90)),
    ),
)
# fmt: on
