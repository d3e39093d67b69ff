//! A labelled set of small-talk intents written for the fine-intents check (issue 26 item
//! 3): 34 intents, each a handful of distinct phrasings, close to one another (all chat
//! with an assistant), the kind of set where clusters must follow many small groups.
//! Sizes are unequal: [`smalltalk`] repeats some intents' phrasings with casual openers.

/// The intents and their phrasings.
const INTENTS: &[(&str, &[&str])] = &[
    (
        "greeting",
        &[
            "Hello there!",
            "Hi, how's it going?",
            "Good morning!",
            "Hey, nice to meet you.",
            "Hiya!",
            "Good evening to you.",
            "Howdy!",
            "Hey there, anyone home?",
        ],
    ),
    (
        "goodbye",
        &[
            "Goodbye for now.",
            "See you later!",
            "I have to go, bye.",
            "Talk to you tomorrow.",
            "Catch you later.",
            "Bye bye!",
            "I'm logging off now, take care.",
            "Farewell, until next time.",
        ],
    ),
    (
        "thanks",
        &[
            "Thank you so much!",
            "Thanks, that helped a lot.",
            "I really appreciate your help.",
            "Cheers, thanks.",
            "Many thanks for this.",
            "Thanks a bunch!",
            "That's kind of you, thank you.",
        ],
    ),
    (
        "how are you",
        &[
            "How are you today?",
            "How are you doing?",
            "Are you doing well?",
            "How have you been?",
            "How's your day going?",
            "What's up with you lately?",
        ],
    ),
    (
        "your name",
        &[
            "What's your name?",
            "What should I call you?",
            "Do you have a name?",
            "Who am I talking to?",
            "Tell me your name.",
            "What are you called?",
        ],
    ),
    (
        "are you a bot",
        &[
            "Are you a robot?",
            "Am I talking to a real person?",
            "Are you human or a machine?",
            "Is this an AI?",
            "Are you a computer program?",
            "Is there a person behind this chat?",
        ],
    ),
    (
        "your age",
        &[
            "How old are you?",
            "When were you born?",
            "What's your age?",
            "How long have you existed?",
            "Are you young or old?",
        ],
    ),
    (
        "tell a joke",
        &[
            "Tell me a joke.",
            "Make me laugh.",
            "Do you know any funny jokes?",
            "Say something funny.",
            "I need a good joke.",
            "Got any puns for me?",
            "Tell me a knock knock joke.",
        ],
    ),
    (
        "weather",
        &[
            "What's the weather like today?",
            "Is it going to rain tomorrow?",
            "Will it be sunny this weekend?",
            "How cold is it outside?",
            "Do I need an umbrella today?",
            "What's the forecast for tonight?",
        ],
    ),
    (
        "time",
        &[
            "What time is it?",
            "Can you tell me the current time?",
            "What's the time right now?",
            "Do you know what time it is?",
            "Is it morning or afternoon now?",
        ],
    ),
    (
        "date",
        &[
            "What's today's date?",
            "What day of the week is it?",
            "Which month are we in?",
            "What's the date tomorrow?",
            "Is today a weekday?",
        ],
    ),
    (
        "favourite colour",
        &[
            "What's your favourite colour?",
            "Do you like blue or red?",
            "Which colour do you like best?",
            "What colour would you paint your room?",
            "Do you have a favourite colour?",
        ],
    ),
    (
        "favourite food",
        &[
            "What's your favourite food?",
            "Do you like pizza?",
            "What would you eat for dinner?",
            "Which cuisine do you prefer?",
            "Do you enjoy chocolate?",
            "What's the best snack?",
        ],
    ),
    (
        "favourite movie",
        &[
            "What's your favourite movie?",
            "Have you seen any good films?",
            "Which film would you recommend?",
            "Do you like horror movies?",
            "What's the best movie ever made?",
        ],
    ),
    (
        "favourite music",
        &[
            "What music do you like?",
            "Who's your favourite band?",
            "Do you listen to jazz?",
            "What song is stuck in your head?",
            "Recommend me a good album.",
        ],
    ),
    (
        "hobbies",
        &[
            "What do you do for fun?",
            "Do you have any hobbies?",
            "What do you like doing in your free time?",
            "How do you spend your weekends?",
            "What are your interests?",
        ],
    ),
    (
        "bored",
        &[
            "I'm so bored.",
            "There's nothing to do today.",
            "I'm bored out of my mind.",
            "Entertain me, I'm bored.",
            "What can I do when I'm bored?",
            "This afternoon is so dull.",
        ],
    ),
    (
        "sad",
        &[
            "I'm feeling sad today.",
            "I feel really down.",
            "I've been feeling lonely lately.",
            "Everything feels hopeless.",
            "I'm upset and don't know why.",
            "I had a terrible day.",
        ],
    ),
    (
        "happy",
        &[
            "I'm so happy today!",
            "I got the job!",
            "Today was a great day.",
            "I feel fantastic.",
            "I just passed my exam!",
            "Life is good right now.",
        ],
    ),
    (
        "tired",
        &[
            "I'm exhausted.",
            "I didn't sleep well last night.",
            "I'm so sleepy.",
            "I need a nap.",
            "I feel worn out after work.",
        ],
    ),
    (
        "love you",
        &[
            "I love you.",
            "Do you love me?",
            "Will you marry me?",
            "You're my best friend.",
            "I have a crush on you.",
            "Can we be more than friends?",
        ],
    ),
    (
        "you are smart",
        &[
            "You're really smart.",
            "You're so clever!",
            "Wow, you know everything.",
            "You're a genius.",
            "That was a brilliant answer.",
        ],
    ),
    (
        "you are dumb",
        &[
            "You're stupid.",
            "That was a dumb answer.",
            "You don't understand anything.",
            "You're useless.",
            "What a terrible reply.",
            "You're not very bright, are you?",
        ],
    ),
    (
        "sorry",
        &[
            "I'm sorry.",
            "My apologies.",
            "Sorry about that.",
            "I didn't mean to be rude.",
            "Forgive me, please.",
            "Oops, my mistake.",
        ],
    ),
    (
        "where do you live",
        &[
            "Where do you live?",
            "Where are you from?",
            "Which country are you in?",
            "Where are your servers?",
            "Do you have a home?",
        ],
    ),
    (
        "do you sleep",
        &[
            "Do you ever sleep?",
            "Do you dream at night?",
            "Do you get tired?",
            "Do you need rest?",
            "What do you do at night?",
        ],
    ),
    (
        "do you have feelings",
        &[
            "Do you have feelings?",
            "Can you feel emotions?",
            "Are you ever happy?",
            "Do you get angry?",
            "Are you conscious?",
            "Do you feel pain?",
        ],
    ),
    (
        "who made you",
        &[
            "Who created you?",
            "Who built you?",
            "Which company made you?",
            "Who is your developer?",
            "Who programmed you?",
        ],
    ),
    (
        "what can you do",
        &[
            "What can you do?",
            "How can you help me?",
            "What are your abilities?",
            "What are you good at?",
            "What tasks can you handle?",
            "Show me what you can do.",
        ],
    ),
    (
        "pets",
        &[
            "Do you like dogs or cats?",
            "I just adopted a puppy.",
            "Do you have a pet?",
            "My cat is so lazy.",
            "What's the best pet for a small flat?",
        ],
    ),
    (
        "sports",
        &[
            "Who do you think will win the game tonight?",
            "Do you follow football?",
            "What's your favourite sport?",
            "Did you watch the match yesterday?",
            "Do you like basketball?",
        ],
    ),
    (
        "birthday",
        &[
            "It's my birthday today!",
            "Can you sing happy birthday?",
            "What should I do for my birthday?",
            "My birthday is next week.",
            "Wish me a happy birthday.",
        ],
    ),
    (
        "good night",
        &["Good night!", "Time for bed, night night.", "Sleep well.", "I'm going to sleep now.", "Sweet dreams."],
    ),
    (
        "meaning of life",
        &[
            "What is the meaning of life?",
            "Why are we here?",
            "What's the purpose of existence?",
            "Is there life after death?",
            "Does anything really matter?",
        ],
    ),
];

/// Casual openers that turn a phrasing into another way someone types it.
const OPENERS: &[&str] = &["hey, ", "ok so ", "um, ", "quick question: "];

/// The set: (text, intent). Intent g repeats its phrasings behind one opener when g is a
/// multiple of 3, behind two when a multiple of 5, so sizes run from 5 to 24.
pub fn smalltalk() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (g, (intent, phrasings)) in INTENTS.iter().enumerate() {
        let copies = 1 + usize::from(g % 3 == 0) + 2 * usize::from(g % 5 == 0);
        for c in 0..copies.min(OPENERS.len() + 1) {
            for p in *phrasings {
                let text = if c == 0 { p.to_string() } else { format!("{}{}", OPENERS[c - 1], p.to_lowercase()) };
                out.push((text, intent.to_string()));
            }
        }
    }
    out
}
