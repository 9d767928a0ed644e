"""Seed poses of the modest fashion, casual and lifestyle, and sports categories."""

from __future__ import annotations

from posegen.poses import gestures as g
from posegen.poses.kinematics import Limb, PoseParams
from posegen.poses.specs import PoseSeed

# fmt: off
LIFE_POSES: tuple[PoseSeed, ...] = (
    # Modest fashion: hijab catalogue
    PoseSeed(
        "hijab-catalogue", "Modest Front Catalogue",
        "Feet together facing the camera, one forearm resting across the waist for a neat, covered line.",
        ("modest", "hijab", "front", "catalogue"), "beginner", "female",
        PoseParams(head_tilt=5, right_arm=g.ACROSS_WAIST, right_leg=g.TOGETHER, left_leg=g.TOGETHER),
        is_featured=True,
    ),
    PoseSeed(
        "hijab-catalogue", "Gentle Hijab Adjust",
        "Three-quarter view with both hands lightly adjusting the hijab under the chin.",
        ("hijab", "hands-to-face", "three-quarter", "gentle"), "beginner", "female",
        PoseParams(yaw=30, head_turn=-15, head_tilt=6, right_arm=g.HAND_TO_CHIN, left_arm=g.HAND_TO_CHIN,
                   left_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "hijab-catalogue", "Abaya Flow Turn",
        "Turning in a step with one hand holding the abaya out so the fabric flows.",
        ("abaya", "flow", "turn", "fabric"), "intermediate", "female",
        PoseParams(yaw=60, head_turn=-35, right_arm=Limb(35, 0, 40, 10), right_leg=g.STEP_BACK,
                   left_leg=g.STEP_FORWARD),
        is_premium=True,
    ),
    PoseSeed(
        "hijab-catalogue", "Modest Back Detail",
        "Facing away with the hands together in front and the head half-turned, to show the back drape.",
        ("back", "modest", "detail", "catalogue"), "beginner", "female",
        PoseParams(yaw=-150, head_turn=45, right_arm=g.CLASPED_LOW, left_arm=g.CLASPED_LOW,
                   right_leg=g.TOGETHER, left_leg=g.TOGETHER),
    ),
    # Modest fashion: elegant standing
    PoseSeed(
        "elegant-standing", "Poised Hands Folded",
        "Angled stance with the hands folded at the waist and a soft tilt of the head.",
        ("elegant", "poised", "folded-hands", "standing"), "beginner", "female",
        PoseParams(yaw=25, head_turn=-10, head_tilt=6, right_arm=g.ACROSS_WAIST, left_arm=g.ACROSS_WAIST,
                   left_leg=g.RELAXED_KNEE),
        is_featured=True,
    ),
    PoseSeed(
        "elegant-standing", "Graceful Side Glance",
        "Standing in near-profile and glancing back towards the camera.",
        ("elegant", "side", "glance", "standing"), "beginner", "female",
        PoseParams(yaw=75, head_turn=-50, right_leg=g.RELAXED_KNEE),
    ),
    PoseSeed(
        "elegant-standing", "Holding Clutch",
        "Both hands hold a clutch bag at hip height on one side.",
        ("clutch", "elegant", "accessory", "standing"), "beginner", "female",
        PoseParams(yaw=15, right_arm=Limb(10, 30, 45, 120), left_arm=Limb(22, 105, 60, 175),
                   left_leg=g.CROSSING),
    ),
    PoseSeed(
        "elegant-standing", "Soft Step Forward",
        "A small step forward with one hand resting lightly on the chest.",
        ("step", "elegant", "hand-on-chest", "movement"), "intermediate", "female",
        PoseParams(yaw=20, right_arm=g.HAND_ON_CHEST, right_leg=Limb(15, 90, 5, -90)),
        is_premium=True,
    ),
    # Modest fashion: seated
    PoseSeed(
        "seated-modest", "Seated Ankles Crossed",
        "Upright on a chair with the knees together, ankles crossed and hands in the lap.",
        ("seated", "modest", "ankles-crossed", "chair"), "beginner", "female",
        PoseParams(yaw=35, right_arm=g.IN_LAP, left_arm=g.IN_LAP, right_leg=Limb(88, 90, 12, 175),
                   left_leg=Limb(88, 90, 14, -170)),
    ),
    PoseSeed(
        "seated-modest", "Seated Side Profile",
        "A calm side view on a chair with the hands resting on the thighs.",
        ("seated", "profile", "modest", "calm"), "beginner", "female",
        PoseParams(yaw=90, right_arm=g.ON_THIGH, left_arm=g.ON_THIGH, right_leg=g.SEATED, left_leg=g.SEATED),
    ),
    PoseSeed(
        "seated-modest", "Kneeling on Heels",
        "Kneeling and sitting back on the heels with the hands resting on the thighs.",
        ("kneeling", "floor", "modest", "serene"), "intermediate", "female",
        PoseParams(yaw=45, right_arm=g.ON_THIGH, left_arm=g.ON_THIGH, right_leg=g.ON_HEELS,
                   left_leg=g.ON_HEELS),
        is_premium=True,
    ),
    PoseSeed(
        "seated-modest", "Reading on Bench",
        "Seated on a bench holding an open book, the head bowed to read.",
        ("seated", "reading", "book", "modest"), "beginner", "unisex",
        PoseParams(yaw=30, head_nod=25, right_arm=g.READ_BOOK, left_arm=g.READ_BOOK, right_leg=g.SEATED,
                   left_leg=g.SEATED),
    ),
    # Casual and lifestyle: walking
    PoseSeed(
        "walking", "Easy Stroll",
        "A relaxed three-quarter walk with a natural arm swing.",
        ("walking", "stroll", "casual", "outdoor"), "beginner", "unisex",
        PoseParams(yaw=35, right_arm=g.SWING_BACK, left_arm=g.SWING_FORWARD, right_leg=g.STEP_FORWARD,
                   left_leg=g.STEP_BACK),
        is_featured=True,
    ),
    PoseSeed(
        "walking", "Walking Away Look Back",
        "Walking away from the camera and looking back over the shoulder.",
        ("walking", "look-back", "candid", "back"), "intermediate", "unisex",
        PoseParams(yaw=150, head_turn=-65, right_arm=g.SWING_FORWARD, left_arm=g.SWING_BACK,
                   right_leg=g.STEP_BACK, left_leg=g.STEP_FORWARD),
    ),
    PoseSeed(
        "walking", "Hands in Pockets Walk",
        "A side-on amble with both hands in the pockets.",
        ("walking", "hands-in-pockets", "relaxed", "side"), "beginner", "unisex",
        PoseParams(yaw=70, right_arm=g.IN_POCKET, left_arm=g.IN_POCKET, right_leg=g.STEP_BACK,
                   left_leg=g.STEP_FORWARD),
    ),
    PoseSeed(
        "walking", "Brisk City Walk",
        "Walking briskly while reading a phone held in one hand.",
        ("walking", "phone", "city", "commute"), "beginner", "unisex",
        PoseParams(yaw=20, head_nod=25, right_arm=g.READ_PHONE, left_arm=g.SWING_BACK,
                   right_leg=g.STEP_BACK, left_leg=g.STEP_FORWARD),
    ),
    # Casual and lifestyle: sitting
    PoseSeed(
        "sitting", "Cross-Legged Floor",
        "Sitting cross-legged on the floor with the hands resting on the knees.",
        ("floor", "cross-legged", "relaxed", "seated"), "beginner", "unisex",
        PoseParams(lean=8, right_arm=g.ON_KNEE_CROSS_LEGGED, left_arm=g.ON_KNEE_CROSS_LEGGED,
                   right_leg=g.CROSS_LEGGED, left_leg=g.CROSS_LEGGED),
        is_featured=True,
    ),
    PoseSeed(
        "sitting", "Sofa Lounge",
        "Slouched back on a sofa, one arm along the backrest and the legs stretched out.",
        ("sofa", "lounge", "relaxed", "seated"), "beginner", "unisex",
        PoseParams(yaw=30, lean=-20, right_arm=Limb(80, -20, 85, 20), left_arm=g.IN_LAP,
                   right_leg=Limb(75, 90, 50, 90), left_leg=Limb(80, 80, 40, 90)),
    ),
    PoseSeed(
        "sitting", "Hugging Knees",
        "Sitting on the floor with the knees drawn up and the arms wrapped around the shins.",
        ("floor", "knees-up", "hugging", "cozy"), "intermediate", "unisex",
        PoseParams(yaw=80, lean=15, head_tilt=8, right_arm=g.HUG_KNEES, left_arm=g.HUG_KNEES,
                   right_leg=Limb(140, 90, 20, 90), left_leg=Limb(140, 90, 20, 90)),
    ),
    PoseSeed(
        "sitting", "Cafe Chair Elbow on Table",
        "Seated at a cafe table, leaning in with the chin resting on one hand.",
        ("cafe", "seated", "chin-in-hand", "table"), "beginner", "unisex",
        PoseParams(yaw=25, lean=15, right_arm=g.HAND_TO_CHIN, left_arm=Limb(40, 80, 90, 140),
                   right_leg=g.SEATED, left_leg=g.SEATED_APART),
    ),
    # Casual and lifestyle: leaning
    PoseSeed(
        "leaning", "Shoulder Against Wall",
        "One shoulder against a wall, arms folded and the ankles crossed.",
        ("leaning", "wall", "crossed-arms", "relaxed"), "beginner", "unisex",
        PoseParams(yaw=-35, roll=-10, head_turn=20, right_arm=g.CROSSED_UNDER, left_arm=g.CROSSED_OVER,
                   left_leg=g.CROSSING),
        is_featured=True,
    ),
    PoseSeed(
        "leaning", "Leaning on Railing",
        "Bent forward onto a railing, resting on both forearms and looking out.",
        ("leaning", "railing", "forearms", "view"), "beginner", "unisex",
        PoseParams(yaw=40, lean=25, head_nod=-15, right_arm=Limb(45, 90, 90, 130),
                   left_arm=Limb(45, 90, 90, 130), right_leg=g.APART, left_leg=g.CROSSING),
    ),
    PoseSeed(
        "leaning", "Elbow on Counter",
        "Leaning sideways with one elbow on a high counter, the other hand on the hip.",
        ("leaning", "counter", "elbow", "bar"), "intermediate", "unisex",
        PoseParams(yaw=-20, roll=8, right_arm=Limb(60, 10, 90, 90), left_arm=g.HAND_ON_HIP,
                   left_leg=g.CROSSING),
    ),
    PoseSeed(
        "leaning", "Back to Table Edge",
        "Leaning back against a table edge, gripping it behind with both hands, the ankles crossed in front.",
        ("leaning", "table", "hands-behind", "casual"), "beginner", "unisex",
        PoseParams(yaw=40, lean=-10, right_arm=g.GRIP_BEHIND, left_arm=g.GRIP_BEHIND,
                   right_leg=Limb(18, 90, 15, 90), left_leg=Limb(20, 120, 16, 150)),
    ),
    # Casual and lifestyle: candid
    PoseSeed(
        "candid", "Laughing Look Down",
        "Mid-laugh with the head bowed, one hand at the chest and the other across the waist.",
        ("laughing", "candid", "look-down", "joyful"), "beginner", "unisex",
        PoseParams(lean=8, head_nod=25, head_tilt=-5, right_arm=g.HAND_ON_CHEST, left_arm=g.ACROSS_WAIST),
        is_featured=True,
    ),
    PoseSeed(
        "candid", "Hair Tuck",
        "Tucking hair behind the ear with the head tilted.",
        ("hair", "candid", "head-tilt", "gentle"), "beginner", "female",
        PoseParams(yaw=20, head_tilt=10, right_arm=g.HAIR_TUCK, left_arm=g.CARRY_BAG),
    ),
    PoseSeed(
        "candid", "Morning Stretch",
        "Both arms stretched overhead, leaning back and to the side as if just waking up.",
        ("stretch", "arms-up", "morning", "candid"), "beginner", "unisex",
        PoseParams(yaw=40, lean=-8, side_bend=10, head_nod=-15, right_arm=g.OVERHEAD, left_arm=g.OVERHEAD),
    ),
    PoseSeed(
        "candid", "Checking Watch",
        "A forearm raised across the body, glancing down at the watch.",
        ("watch", "candid", "look-down", "time"), "beginner", "unisex",
        PoseParams(yaw=15, head_nod=25, left_arm=g.CHECK_WATCH, right_arm=Limb(30, 70, 60, 150)),
    ),
    # Sports: fitness
    PoseSeed(
        "fitness", "Bodyweight Squat",
        "A deep squat at three-quarters with the arms reaching forward for balance.",
        ("squat", "legs", "bodyweight", "gym"), "intermediate", "unisex",
        PoseParams(yaw=45, lean=35, head_nod=-25, right_arm=Limb(80, 90, 80, 90), left_arm=Limb(80, 90, 80, 90),
                   right_leg=Limb(80, 70, 20, -70), left_leg=Limb(80, 70, 20, -70)),
        is_featured=True,
    ),
    PoseSeed(
        "fitness", "Forward Lunge",
        "A side-on lunge with the back knee low and the hands on the hips.",
        ("lunge", "legs", "balance", "gym"), "intermediate", "unisex",
        PoseParams(yaw=90, right_arm=g.HAND_ON_HIP, left_arm=g.HAND_ON_HIP, right_leg=Limb(80, 90, 5, -90),
                   left_leg=Limb(25, -90, 85, -90)),
    ),
    PoseSeed(
        "fitness", "High Plank",
        "A straight-armed plank seen from the side, the body in one line from head to heels.",
        ("plank", "core", "bodyweight", "floor"), "intermediate", "unisex",
        PoseParams(yaw=90, tilt=66, head_nod=-10, right_arm=Limb(66, 90, 66, 90), left_arm=Limb(66, 90, 66, 90),
                   right_leg=g.TOGETHER, left_leg=g.TOGETHER),
        is_premium=True,
    ),
    PoseSeed(
        "fitness", "Dumbbell Bicep Curl",
        "Elbows pinned to the sides with both forearms curled up.",
        ("dumbbell", "curl", "arms", "gym"), "beginner", "unisex",
        PoseParams(yaw=20, right_arm=g.CURL, left_arm=g.CURL, right_leg=g.APART, left_leg=g.APART),
    ),
    PoseSeed(
        "fitness", "Star Jump",
        "Airborne in a jumping jack, arms and legs spread wide.",
        ("jumping-jack", "cardio", "jump", "energetic"), "intermediate", "unisex",
        PoseParams(right_arm=Limb(140, 0, 145, 0), left_arm=Limb(140, 0, 145, 0), right_leg=g.WIDE,
                   left_leg=g.WIDE),
    ),
    # Sports: yoga and stretching
    PoseSeed(
        "yoga", "Tree Pose",
        "Balancing on one leg with the other foot at the standing knee and the palms together overhead.",
        ("yoga", "balance", "tree", "standing"), "intermediate", "unisex",
        PoseParams(right_arm=g.PALMS_OVERHEAD, left_arm=g.PALMS_OVERHEAD, right_leg=Limb(55, 35, 90, 165),
                   left_leg=g.TOGETHER),
        is_featured=True,
    ),
    PoseSeed(
        "yoga", "Warrior II",
        "Wide stance with the front knee bent, arms level and the gaze over the front hand.",
        ("yoga", "warrior", "strength", "standing"), "intermediate", "unisex",
        PoseParams(head_turn=-80, right_arm=g.SIDEWAYS, left_arm=g.SIDEWAYS, right_leg=Limb(70, 5, 5, 0),
                   left_leg=Limb(30, 0, 30, 0)),
    ),
    PoseSeed(
        "yoga", "Triangle Pose",
        "Legs wide and straight, the torso tipped sideways with the arms in one vertical line.",
        ("yoga", "triangle", "stretch", "standing"), "advanced", "unisex",
        PoseParams(side_bend=65, head_turn=50, right_arm=g.SIDEWAYS, left_arm=g.SIDEWAYS,
                   right_leg=Limb(28, 0, 28, 0), left_leg=Limb(28, 0, 28, 0)),
        is_premium=True,
    ),
    PoseSeed(
        "yoga", "Standing Quad Stretch",
        "Side view balancing on one leg, holding the other foot behind, the free arm reaching forward.",
        ("stretch", "quad", "balance", "warm-up"), "intermediate", "unisex",
        PoseParams(yaw=90, right_arm=Limb(150, 90, 160, 90), left_arm=g.HOLD_FOOT_BEHIND,
                   right_leg=g.TOGETHER, left_leg=g.FOOT_TO_SEAT),
    ),
    # Sports: athletics and team sports
    PoseSeed(
        "athletics", "Mid-Stride Sprint",
        "A sprinter in full flight: knee driven high, arms pumping in opposition.",
        ("sprint", "running", "speed", "track"), "advanced", "unisex",
        PoseParams(yaw=90, lean=12, right_arm=g.DRIVE_BACK, left_arm=g.DRIVE_FORWARD,
                   right_leg=Limb(70, 90, 15, -90), left_leg=Limb(25, -90, 80, -90)),
        is_featured=True,
    ),
    PoseSeed(
        "athletics", "Basketball Jump Shot",
        "Rising into a jump shot with the shooting hand above the head and the guide hand beside the ball.",
        ("basketball", "jump", "shot", "team-sport"), "advanced", "unisex",
        PoseParams(yaw=20, head_nod=-15, right_arm=Limb(150, 70, 170, 90), left_arm=Limb(140, 80, 120, 170),
                   right_leg=Limb(20, 90, 20, -90), left_leg=Limb(20, 90, 25, -90)),
        is_premium=True,
    ),
    PoseSeed(
        "athletics", "Soccer Kick",
        "Striking a ball with the kicking leg swung through and the arms out for balance.",
        ("soccer", "kick", "ball", "team-sport"), "intermediate", "unisex",
        PoseParams(yaw=70, lean=-10, right_arm=Limb(60, -60, 70, -40), left_arm=Limb(70, 30, 80, 40),
                   right_leg=Limb(60, 90, 45, 90), left_leg=g.STRAIGHT),
    ),
    PoseSeed(
        "athletics", "Victory Arms Finish",
        "Crossing the finish line with both arms thrown up in a V.",
        ("victory", "finish", "celebration", "running"), "beginner", "unisex",
        PoseParams(head_nod=-15, right_arm=g.VICTORY, left_arm=g.VICTORY, right_leg=g.STEP_FORWARD,
                   left_leg=g.STEP_BACK),
    ),
)
# fmt: on
