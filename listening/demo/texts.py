"""The words of the demo world: sentence banks the generator draws from.

Syntax of a template: ``[a|b|c]`` picks one alternative (``[a|]`` = optional ``a``; brackets nest),
``{name}`` is filled from the post's context (see ``generate.Context``):

* brand: ``{B}`` a way to name the brand (``@MaisonAurore``, ``Maison Aurore``, ``maison aurore``...),
  ``{Bn}`` its plain name, ``{C}`` a competitor's name, ``{tag}`` the brand hashtag;
* product (French grammar done for you): ``{p}`` noun, ``{mon_p}`` "mon plaid"/"ma lampe",
  ``{le_p}`` "le plaid"/"la lampe"/"l'étagère", ``{un_p}``, ``{du_p}``, ``{e}`` agreement ("" / "e"),
  ``{beau}``; English ``{p_en}``, ``{my_p}``, ``{the_p}``, ``{a_p}``;
* product tags: a template that starts with ``<tag>`` (``textile``, ``furniture``, ``rigid``) is
  only used for a product that has the tag;
* crisis product: ``{cp}``, ``{la_cp}``, ``{sa_cp}``, ``{une_cp}``, ``{elle}``, ``{Elle}``,
  ``{la_mienne}``, ``{lots}``, ``{ch}`` (the crisis hashtag);
* numbers and places: ``{days}``, ``{n}``, ``{day}``, ``{weekday}``, ``{hours}``, ``{amount}``,
  ``{city}``, ``{order}``, ``{pct}``;
* replies: ``{hello}`` ("Bonjour Camille," / "Hi Tom,"), ``{first}``, ``{sig}`` ("^Léa"), ``{agent}``.

Everything here is invented for the demo; no sentence is copied from a real post.
"""

from __future__ import annotations

TOPICS = ("delivery", "refund", "app", "service", "quality", "store")
KINDS = ("complaint", "praise", "question", "neutral", "sarcasm")

# --- Root posts about one brand: BANK[lang][topic][kind] ----------------------------------------

BANK: dict[str, dict[str, dict[str, list[str]]]] = {
    "fr": {
        "delivery": {
            "complaint": [
                "[Commande|Colis|Commande n°{order}] passée [le {day}|il y a {days} jours|{weekday} dernier] chez {B}[, toujours rien| et toujours rien reçu|, le suivi n'a pas bougé depuis {n} jours]",
                "Le livreur de {B} a [encore |]mis \"destinataire absent\" alors que j'étais chez moi [toute la journée|en télétravail|littéralement derrière la porte]",
                "{days} jours pour [recevoir|toujours pas recevoir] {un_p}[, sérieusement ?|. C'est une blague ?|...]",
                "Livraison [express|à domicile|premium] payée {amount} chez {B} et [colis déposé chez un voisin que je connais même pas|colis laissé devant l'immeuble sous la pluie|carton arrivé éventré]",
                "<rigid>{mon_p} [est arrivé{e}|a été livré{e}] [cassé{e}|en morceaux|rayé{e} de partout], [merci le transporteur|emballé dans un carton fin comme du papier|bravo {B}]",
                "Ça fait {days} jours que {B} me dit que mon colis est \"en cours d'acheminement\".[ Il fait le tour de France ?| Il passe par où ?|]",
                "Créneau de livraison 8h-13h, personne.[ Appelé le service client, \"il arrivera demain\".|] [C'est la 3e fois.|J'ai posé une journée pour rien.|Demain je bosse moi.]",
                "{B} [vous pouvez m'expliquer|quelqu'un peut m'expliquer] pourquoi ma commande du {day} est [toujours \"en préparation\"|bloquée à l'entrepôt|partie à {city} alors que j'habite à Lille] ?",
                "[Deuxième|Troisième] report de livraison pour {mon_p}. [J'en peux plus.|Je vais finir par annuler.|Super organisation {B}.]",
            ],
            "praise": [
                "Commandé {weekday} soir, livré le lendemain matin ![ Bravo| Merci| Chapeau] {B}",
                "Livreur adorable qui a monté {mon_p} jusqu'au [5e|4e|6e] sans ascenseur. Merci {B}[ 🙏|]",
                "Colis [super bien|hyper bien|parfaitement] emballé, rien de cassé, livré en avance. {B} [au top|👌|je valide]",
                "[Enfin|Pour une fois] une livraison [à l'heure|dans le créneau annoncé] ! {mon_p} est là [et il est parfait|et c'est encore plus beau en vrai]",
                "Le suivi de livraison de {B} est [vraiment clair|nickel], on sait exactement quand ça arrive. [Ça change.|Les autres devraient s'en inspirer.]",
            ],
            "question": [
                "{B} vous livrez en [Belgique|Suisse|Corse|outre-mer] ?",
                "[Quelqu'un sait|Vous savez] combien de temps met {B} pour livrer {un_p} en ce moment ?",
                "{B} c'est normal que le suivi de ma commande n'affiche rien depuis {n} jours ?",
                "Possible de changer l'adresse de livraison après avoir passé commande chez {B} ?",
                "{B} la livraison en point relais c'est combien de jours [en général|environ] ?",
                "[Bonjour|Hello] {B}, [je pars en vacances samedi|je déménage le {day}], je peux décaler ma livraison ?",
            ],
            "neutral": [
                "{Bn} [lance|teste] la livraison [le dimanche|en 2h|à vélo cargo] à {city}[ à partir du {day}|]",
                "{Bn} change de transporteur pour ses colis volumineux, [d'après un mail envoyé aux clients|selon un communiqué]",
                "Reçu le mail de {Bn} : livraison offerte dès {amount} jusqu'à dimanche",
                "{Bn} annonce un nouvel entrepôt près de {city} pour [raccourcir les délais|livrer le Sud-Est en 48h]",
                "Mon colis {Bn} arrive [demain|jeudi] d'après le suivi.[ On verra.|]",
            ],
            "sarcasm": [
                "{days} jours de livraison. {B} livre [à dos d'âne|par pigeon voyageur|en diligence] ?",
                "Merci {B} pour ce suivi de colis passionnant : \"en préparation\" depuis {days} jours. Quel suspense !",
                "Génial, mon colis {B} est \"livré\". Chez qui, ça reste un mystère",
                "J'adore le concept de {B} : tu paies la livraison express et tu reçois en {days} jours. [Audacieux.|Fallait oser.]",
            ],
        },
        "refund": {
            "complaint": [
                "J'attends mon remboursement {B} depuis {days} jours.[ Retour reçu le {day}, toujours rien.| Colis retourné, accusé de réception, et... rien.|]",
                "{B} refuse de me rembourser parce que [l'emballage d'origine est abîmé|j'ai dépassé le délai de 2 jours|\"l'article a été utilisé\"]. [Sympa.|Bravo.|Génial.]",
                "Un avoir au lieu d'un remboursement ? Merci {B} mais [non|je veux mon argent|je ne commanderai plus chez vous]",
                "{amount} bloqués chez {B} depuis [trois semaines|un mois|le {day}] pour un retour qu'ils ont bien reçu. [C'est du vol.|Inadmissible.|Ça commence à bien faire.]",
                "Remboursement {B} : [on m'a remboursé la moitié|ils ont oublié les frais de port|remboursé sur une carte expirée]. [Bien sûr personne ne répond.|Je fais comment ?]",
            ],
            "praise": [
                "Remboursé en {n} jours par {B}, sans discuter. [Ça fait plaisir|Nickel|Rien à dire][ 👍|]",
                "Retour en magasin à {city}, remboursement immédiat, vendeuse adorable. [Merci {B}|{B} 👌]",
                "Franchement le retour chez {B} c'est simple : étiquette imprimée, dépôt en relais, remboursé [en 4 jours|la semaine suivante]",
            ],
            "question": [
                "{B} le remboursement se fait sur la carte ou en avoir ?",
                "Quelqu'un a déjà réussi à se faire rembourser par {B} [sans ticket|un article soldé|un meuble monté] ?",
                "Combien de temps pour un remboursement chez {B} après le retour du colis ?",
                "{B} je peux retourner {un_p} acheté sur le site dans un magasin ?",
            ],
            "neutral": [
                "{Bn} passe son délai de retour de 30 à 60 jours à partir du {day}",
                "Les retours {Bn} deviennent payants (3,90 €) sauf en magasin",
                "Retour déposé pour {mon_p} {Bn}, on verra combien de temps pour le remboursement",
            ],
            "sarcasm": [
                "Mon remboursement {B} arrive bientôt. Enfin je crois. [Ça fait {days} jours.|Mes petits-enfants le toucheront peut-être.]",
                "Super le process de remboursement {B} : tu renvoies le colis, et tu attends. Pour toujours.",
                "{B} est très rapide pour encaisser, beaucoup moins pour rembourser. [Étrange, non ?|Quel hasard.]",
            ],
        },
        "app": {
            "complaint": [
                "L'appli {Bn} plante à chaque fois que je [valide le panier|veux payer|ouvre mes commandes]",
                "Depuis la mise à jour l'appli {B} me déconnecte toutes les [5 minutes|2 minutes|trois clics]",
                "Impossible d'ajouter un code promo dans l'appli {B} : [erreur 500|écran blanc|\"une erreur est survenue\"]",
                "Bug appli {B} : le panier se vide tout seul.[ 3e fois aujourd'hui.| J'abandonne.|]",
                "{B} votre appli m'a débité deux fois pour la même commande[ !!| ...|]. [Je fais comment ?|Quelqu'un peut m'aider ?]",
                "L'appli {Bn} affiche {un_p} en stock à {city} et [sur place il n'y en a pas|le vendeur me dit rupture depuis 3 semaines]",
            ],
            "praise": [
                "La nouvelle appli {Bn} est [vraiment bien faite|super fluide|top], [le suivi de colis en temps réel 👌|on voit enfin le stock en magasin]",
                "Scan du code-barres en magasin avec l'appli {B}, [trop pratique|génial] pour comparer les coloris",
                "Payé en 3 fois directement dans l'appli {Bn}, [zéro souci|nickel]",
            ],
            "question": [
                "{B} l'appli ne marche plus sur [Android|iPhone|ma tablette], c'est connu ?",
                "Quelqu'un arrive à se connecter sur l'appli {Bn} [ce soir|ce matin|là] ?",
                "Comment on supprime son compte dans l'appli {B} ?",
                "{B} pourquoi l'appli me demande ma géolocalisation pour voir un catalogue ?",
            ],
            "neutral": [
                "{Bn} met à jour son appli : [paiement en 3 fois|carte de fidélité dématérialisée|mode sombre] au programme",
                "L'appli {Bn} passe la barre du million de téléchargements",
                "{Bn} ferme son ancien site mobile, tout passe par l'appli à partir du {day}",
            ],
            "sarcasm": [
                "J'adore l'appli {Bn}, elle plante [uniquement quand je veux payer|pile au moment de valider]. Quel sens du timing",
                "L'appli {B} vient de me demander de me reconnecter pour la [4e|5e] fois en 10 min. Sécurité maximale",
                "Nouvelle appli {Bn} : plus belle, plus lente, et toujours aussi instable. [Bravo l'équipe.|Chapeau.]",
            ],
        },
        "service": {
            "complaint": [
                "{hours}h d'attente au téléphone avec le service client {Bn} pour [qu'on me raccroche au nez|m'entendre dire de renvoyer un mail|rien]",
                "[3|4|5] mails au service client {B}, 0 réponse. [Vous existez ?|Allô ?|On fait comment ?]",
                "Le chat {Bn} me répond avec un bot qui ne comprend rien. Je veux parler à un humain !",
                "Conseiller {Bn} [très désagréable|qui me coupe la parole|qui m'explique que c'est ma faute] au téléphone. [Super l'accueil.|Client depuis 10 ans, ça fait mal.]",
                "Formulaire de contact {B} envoyé le {day}. Réponse automatique \"sous 48h\". [On est {weekday}.|Ça fait {days} jours.]",
            ],
            "praise": [
                "Service client {B} au top : [problème réglé en 10 minutes|une conseillère super patiente|rappelée dans l'heure], merci [à elle|beaucoup|!]",
                "Petit mot pour le SAV {Bn} qui m'a [remplacé {mon_p} sans poser de questions|renvoyé la pièce manquante en 48h]. [Chapeau.|Respect.|Merci !]",
                "J'étais prête à râler mais le service client {B} a [été adorable|tout réglé par chat en 5 min]",
            ],
            "question": [
                "{B} vous avez un numéro de téléphone pour le SAV ? [Je ne trouve que le formulaire|Le chat ne marche pas]",
                "Le service client {Bn} répond le week-end ?",
                "{B} je vous ai envoyé un MP [hier|ce matin|{weekday}], vous l'avez reçu ?",
            ],
            "neutral": [
                "{Bn} ouvre un centre de relation client à {city}, [80|120|60] postes annoncés",
                "{Bn} lance un chat 7j/7 sur son site",
                "Appelé {Bn} pour une question de garantie, [réponse en 20 min|pas trop d'attente]",
            ],
            "sarcasm": [
                "Service client {Bn} : {hours}h d'attente, musique d'ascenseur en boucle. Expérience premium",
                "Le bot du service client {B} m'a souhaité une excellente journée après m'avoir dit qu'il ne pouvait rien faire. [Merci, toi aussi.|Trop gentil.]",
            ],
        },
        "quality": {
            "complaint": [
                "<textile>{mon_p} {B} [s'est déchiré{e}|a bouloché|a perdu sa couleur] après [2 lavages|3 semaines|un mois]. [Pour le prix...|À {amount} quand même.|Déçue.]",
                "<furniture>Le pied de {mon_p} s'est [cassé|dévissé] au bout d'une semaine. Qualité {Bn} en chute libre",
                "Acheté {un_p} chez {B} : [odeur chimique insupportable|couleur qui n'a rien à voir avec la photo|finitions bâclées]",
                "{mon_p} de chez {B} [est arrivé{e} avec un défaut|a un défaut de fabrication] et on me propose [un bon de 10 €|de la garder avec 15 % de remise]. Non merci.",
                "Avant {Bn} c'était solide. {mon_p} de 2015 est toujours là, {celui} de cette année [a tenu 3 mois|est déjà abîmé{e}]",
            ],
            "praise": [
                "{mon_p} {B} après [2 ans|un an|6 mois] : [comme neuf|toujours aussi {beau}|j'adore]. [Qualité au rendez-vous|Pas donné mais ça vaut le coup]",
                "Franchement {le_p} de chez {B} est encore plus {beau} en vrai",
                "Reçu {mon_p} {Bn} : [finitions impeccables|matière super douce|exactement comme sur la photo]. [Je recommande.|Coup de cœur.]",
                "Ça fait [3 ans|5 ans] que j'ai {mon_p} {Bn} et {il} n'a pas bougé. [Solide.|Du vrai bon matériel.]",
            ],
            "question": [
                "Quelqu'un a {le_p} de chez {B} ? Ça vaut le coup ?",
                "<textile>{B} {le_p} passe en machine ?",
                "Avis sur {un_p} {Bn} vs {C} ? [J'hésite depuis 2 semaines|Budget {amount}]",
                "{B} {le_p} existe en [plus grand|vert sauge|terracotta] ?",
            ],
            "neutral": [
                "Test comparatif : {un_p} {Bn} face à {C}, [résultats serrés|match nul|avantage {Bn} sur la solidité]",
                "{Bn} annonce une garantie de 5 ans sur ses meubles à partir du {day}",
                "{Bn} rappelle que ses articles en lin sont [certifiés|tissés au Portugal]",
                "<furniture>Je viens de monter {mon_p} {Bn}, [1h30 de montage|les instructions sont claires]",
            ],
            "sarcasm": [
                "{mon_p} {Bn} a tenu [3 semaines|un mois pile]. Obsolescence programmée version déco",
                "{B} vend du \"lin premium\" qui bouloche au premier lavage. Le luxe, c'est savoir surprendre",
            ],
        },
        "store": {
            "complaint": [
                "Magasin {Bn} de {city} : [une seule caisse ouverte|30 min de queue|rayons à moitié vides]. [Dommage.|Je repasserai pas.|Un samedi en plus.]",
                "Les prix qui augmentent encore chez {B}... [+{pct} % sur les plaids en un an|{le_p} a pris 20 € depuis janvier]",
                "Vendeur {Bn} à {city} [qui me dit que c'est dispo que sur le site|pas aimable du tout|introuvable pendant 20 minutes]",
            ],
            "praise": [
                "Passée au magasin {Bn} de {city}, [la nouvelle collection est magnifique|l'accueil est adorable|j'ai craqué sur {un_p}]",
                "La collection [automne|lin|été] de {B} [est une tuerie|j'ai envie de tout|est trop belle]",
                "Le nouveau magasin {Bn} de {city} est [superbe|immense|trop bien pensé]. [On y passerait la journée.|Dangereux pour le porte-monnaie.]",
                "Les soldes {B} cette année [sont vraiment intéressantes|valent le coup], j'ai enfin pris {un_p} à -{pct} %",
            ],
            "question": [
                "Le magasin {Bn} de {city} est ouvert [le dimanche|le 14 juillet|ce soir jusqu'à quelle heure] ?",
                "{B} les soldes commencent quand ?",
                "{B} vous allez ouvrir un magasin à [Rennes|Dijon|Metz|Tours] un jour ?",
                "Quelqu'un sait si {Bn} fait [le click and collect|des cartes cadeaux] ?",
            ],
            "neutral": [
                "{Bn} ouvre un nouveau magasin à {city} [le {day}|à la rentrée]",
                "{Bn} annonce [une collab avec un céramiste lyonnais|une collection capsule en lin recyclé|la fin des sacs plastique en caisse]",
                "{Bn} affiche un chiffre d'affaires en hausse de {pct} % [sur le trimestre|sur un an]",
                "Catalogue {Bn} de la rentrée reçu dans la boîte aux lettres",
                "Passé chez {Bn} à {city}, [pas grand monde ce matin|beaucoup de monde pour les soldes]",
            ],
            "sarcasm": [
                "Nouvelle collection {Bn} : les mêmes coussins qu'avant mais {pct} % plus chers. Innovation",
                "Soldes {B} : -10 % sur les articles qu'ils ont augmentés de 20 % le mois dernier. [Malin.|Bien joué.]",
            ],
        },
    },
    "en": {
        "delivery": {
            "complaint": [
                "Ordered from {B} [on the {day}th|{days} days ago|last {weekday_en}] and [still nothing|tracking hasn't moved in {n} days|no sign of it]",
                "{B} courier marked my parcel \"recipient absent\" while I was [home all day|literally at the door|working from home]",
                "{days} days to [get|still not get] {a_p}[, seriously?|. Is this a joke?|...]",
                "Paid {amount} for express delivery and {B} [left the box in the rain|gave it to a neighbour I've never met|delivered it crushed]",
                "<rigid>{my_p} arrived [broken|in pieces|scratched all over]. [Thanks {B}|Packed in paper-thin cardboard|Great start]",
                "[Second|Third] delivery reschedule from {B}. [I give up.|Cancelling.|Unreal.]",
            ],
            "praise": [
                "Ordered on {weekday_en}, delivered next morning! [Nice one|Well done|Thank you] {B}",
                "The {B} delivery guy carried {my_p} up [4|5|6] floors with no lift. Legend",
                "Parcel [really well|beautifully] packed, nothing broken, arrived early. {B} [👌|10/10|nailed it]",
                "Honestly {B}'s delivery tracking is [so good|spot on], you know exactly when it's coming",
            ],
            "question": [
                "{B} do you deliver to the [UK|Ireland|Netherlands] now?",
                "Anyone know how long {B} takes to deliver {a_p} at the moment?",
                "{B} is it normal that my tracking has shown nothing for {n} days?",
                "Can I change my delivery address after ordering, {B}?",
            ],
            "neutral": [
                "{Bn} is [trialling|launching] [Sunday delivery|2-hour delivery|cargo bike delivery] in {city}",
                "{Bn} switches carrier for bulky items, according to an email sent to customers",
                "{Bn} now ships to the UK, [free over £80|from next month]",
                "My {Bn} parcel is due [tomorrow|Thursday]. We'll see.",
            ],
            "sarcasm": [
                "{days} days for delivery. Is {B} shipping by [carrier pigeon|rowing boat|horse and cart]?",
                "Thank you {B} for the thrilling tracking page: \"being prepared\" for {days} days. The suspense!",
                "Love paying for express delivery with {B} and getting it in {days} days. Bold move.",
            ],
        },
        "refund": {
            "complaint": [
                "Still waiting on my {B} refund after {days} days.[ They got the return on the {day}th.|]",
                "{B} won't refund me because [the original packaging is damaged|I'm 2 days over the limit]. [Cheers.|Brilliant.]",
                "Store credit instead of a refund? No thanks {B}, I want my money back",
                "{amount} stuck with {B} for [three weeks|a month] over a return they've confirmed receiving. [Not OK.|Ridiculous.]",
            ],
            "praise": [
                "Refunded by {B} in {n} days, no questions asked. [Impressed|Fair play|Can't fault it]",
                "Returned {my_p} in the {city} store, instant refund, lovely staff. [Thanks {B}|{B} 👌]",
            ],
            "question": [
                "{B} do refunds go back on the card or as store credit?",
                "Has anyone managed to get a refund from {B} [without a receipt|on a sale item]?",
                "How long does a {B} refund take once they receive the parcel?",
            ],
            "neutral": [
                "{Bn} extends its return window from 30 to 60 days",
                "{Bn} returns now cost €3.90 unless you bring them to a store",
            ],
            "sarcasm": [
                "My {B} refund is coming any day now. Any year now. It's been {days} days.",
                "{B} is amazingly quick at taking money and amazingly slow at giving it back. Funny that.",
            ],
        },
        "app": {
            "complaint": [
                "The {Bn} app crashes every time I [try to pay|open my orders|hit checkout]",
                "Since the update the {B} app logs me out every [5 minutes|couple of clicks]",
                "Can't add a promo code in the {B} app: [error 500|blank screen|\"something went wrong\"]",
                "{B} your app charged me twice for the same order. [Help?|Who do I talk to?]",
            ],
            "praise": [
                "The new {Bn} app is [really well done|super smooth|great], [live parcel tracking 👌|you can finally see store stock]",
                "Scanning barcodes in store with the {B} app is [so handy|genius]",
            ],
            "question": [
                "{B} app not working on [Android|iPhone|my iPad], known issue?",
                "Can anyone log in to the {Bn} app [tonight|right now]?",
                "How do you delete your account in the {B} app?",
            ],
            "neutral": [
                "{Bn} app update adds [pay in 3|a digital loyalty card|dark mode]",
                "The {Bn} app passes one million downloads",
            ],
            "sarcasm": [
                "Love how the {Bn} app only crashes when I try to pay. Impeccable timing",
                "The {B} app asked me to log in again for the 4th time in 10 minutes. Very secure. Much wow.",
            ],
        },
        "service": {
            "complaint": [
                "{hours} hours on hold with {Bn} customer service only to [get cut off|be told to email instead|get nowhere]",
                "[3|4|5] emails to {B} customer service, zero replies. [Hello?|Anyone there?]",
                "The {Bn} chat is a bot that understands nothing. I want a human!",
            ],
            "praise": [
                "{B} customer service [sorted it in 10 minutes|called me back within the hour|were so patient], thank you!",
                "Shout out to {Bn} support for [replacing {my_p} no questions asked|sending the missing part in 2 days]",
            ],
            "question": [
                "{B} is there a phone number for after-sales? I can only find the form",
                "Does {Bn} customer service answer at weekends?",
                "{B} I sent you a DM [yesterday|this morning], did you get it?",
            ],
            "neutral": [
                "{Bn} opens a customer service centre in {city}, [80|120] jobs announced",
                "{Bn} launches 7-day live chat on its website",
            ],
            "sarcasm": [
                "{Bn} customer service: {hours} hours of hold music on loop. Truly premium experience",
                "The {B} support bot wished me a lovely day right after saying it couldn't help. Thanks, you too.",
            ],
        },
        "quality": {
            "complaint": [
                "<textile>{my_p} from {B} [ripped|pilled|faded] after [2 washes|3 weeks|a month]. [For the price...|At {amount}!|Gutted.]",
                "Bought {a_p} from {B}: [awful chemical smell|colour nothing like the photo|sloppy finish]",
                "<furniture>The leg on {my_p} [snapped|came loose] after a week. {Bn} quality has really gone downhill",
            ],
            "praise": [
                "{my_p} from {B} after [2 years|a year|6 months]: [still like new|still gorgeous|love it]",
                "Honestly the {p_en} from {B} is even nicer in person",
                "Got {my_p} from {Bn}: [beautiful finish|so soft|exactly like the photos]. [Recommend.|Love.]",
            ],
            "question": [
                "Anyone got the {p_en} from {B}? Worth it?",
                "<textile>{B} can the {p_en} go in the washing machine?",
                "{a_p} from {Bn} or from {C}? [Torn|Budget is {amount}]",
            ],
            "neutral": [
                "Side by side: {Bn} vs {C} {p_en}, [pretty close|a draw|{Bn} wins on sturdiness]",
                "{Bn} announces a 5-year guarantee on furniture",
                "<furniture>Just built {my_p} from {Bn}, [took 90 minutes|instructions were clear]",
            ],
            "sarcasm": [
                "{my_p} from {Bn} lasted [3 weeks|exactly a month]. Planned obsolescence, home decor edition",
            ],
        },
        "store": {
            "complaint": [
                "{Bn} store in {city}: [one till open|30 minute queue|half-empty shelves]. [Shame.|Not going back.]",
                "Prices keep going up at {B}... [+{pct}% on throws in a year|the {p_en} is €20 more than in January]",
            ],
            "praise": [
                "Popped into the {Bn} store in {city}, [the new collection is gorgeous|staff were lovely|couldn't resist {a_p}]",
                "The {B} [autumn|linen|summer] collection is [so good|stunning], I want everything",
                "The new {Bn} shop in {city} is [beautiful|huge|so well laid out]",
            ],
            "question": [
                "Is the {Bn} store in {city} open on [Sundays|bank holidays]?",
                "{B} when does the sale start?",
                "{B} any plans for a store in [London|Brussels|Geneva]?",
            ],
            "neutral": [
                "{Bn} opens a new store in {city} [on the {day}th|in September]",
                "{Bn} announces [a collab with a Lyon ceramicist|a recycled linen capsule collection]",
                "{Bn} reports sales up {pct}% [this quarter|year on year]",
            ],
            "sarcasm": [
                "New {Bn} collection: same cushions as last year, {pct}% pricier. Innovation",
            ],
        },
    },
}

# Openers and closers shared by topics, by kind.
OPENERS = {
    "fr": {
        "complaint": ["Sérieusement", "Franchement", "Bon.", "Petit coup de gueule :", "Ras-le-bol.", "Alors là", "Encore une fois", "Je rêve", "Pfff", "Allô ?"],
        "praise": ["Petit message :", "Franchement", "Coup de cœur :", "Ok j'avoue", "Trop contente", "Agréablement surpris :"],
        "question": ["Question :", "Petite question", "Hello", "Bonjour,", "Help", "Quelqu'un peut m'aider ?"],
        "neutral": ["Info :", "À noter :", "Vu ce matin :", "📰", "👉"],
        "sarcasm": ["Bravo.", "Magnifique.", "Quelle surprise.", "Génial.", "Ah bah super."],
    },
    "en": {
        "complaint": ["Honestly", "Seriously", "Right.", "Rant incoming:", "Unbelievable.", "Again", "Ugh"],
        "praise": ["Just saying:", "Honestly", "Shout out:", "Ok I'll admit it", "So happy", "Pleasantly surprised:"],
        "question": ["Quick question", "Hi", "Hello,", "Help", "Anyone know?"],
        "neutral": ["FYI:", "Spotted:", "News:", "👉"],
        "sarcasm": ["Great.", "Brilliant.", "What a surprise.", "Amazing."],
    },
}

CLOSERS = {
    "fr": {
        "complaint": ["Je fais comment ?", "Franchement décevant.", "Jamais plus.", "Dernière commande chez eux.", "Vous répondez quand ?", "Toujours pas de réponse au mail.", "C'était un cadeau en plus", "Et bien sûr le chat ne répond pas", "Merci de me recontacter.", "J'en ai marre.", "Pas sérieux.", "Ça devient pénible."],
        "praise": ["Je recommande.", "Merci !", "Ravie.", "À refaire.", "Client fidèle maintenant.", "Top.", "Bravo à l'équipe."],
        "question": ["Merci d'avance", "Merci !", "Des infos ?", "Je trouve rien sur le site", "Quelqu'un sait ?"],
        "neutral": ["À suivre.", "On verra.", "Bon à savoir.", ""],
        "sarcasm": ["Quel talent.", "On n'arrête pas le progrès.", "Magique.", "Vraiment merci."],
    },
    "en": {
        "complaint": ["What now?", "So disappointing.", "Never again.", "Last order.", "Any reply?", "Still no answer to my email.", "It was a gift too", "Not good enough."],
        "praise": ["Recommend.", "Thank you!", "Happy customer.", "Will order again.", "Top marks."],
        "question": ["Thanks in advance", "Thanks!", "Any info?", "Can't find it on the website"],
        "neutral": ["We'll see.", "Good to know.", ""],
        "sarcasm": ["Genius.", "Progress.", "Magic.", "Thanks so much."],
    },
}

EMOJIS = {
    "complaint": ["😤", "😡", "🙄", "😩", "🤬", "😒", "👎", "💀", "😠", "🤦‍♀️", "🤦‍♂️"],
    "praise": ["😍", "🥰", "🙌", "👏", "✨", "🧡", "💛", "👌", "🙏", "☺️", "🌿", "💯"],
    "question": ["🤔", "🙏", "❓", "😅"],
    "neutral": ["📦", "👉", "🏬", "📰"],
    "sarcasm": ["🙃", "👏", "🤡", "😂", "✨", "👌"],
    "crisis": ["😱", "😡", "⚠️", "🔥", "😨", "🤬", "😳"],
}

TOPIC_TAGS = {
    "fr": {"delivery": ["#livraison", "#colis"], "refund": ["#remboursement", "#SAV"], "app": ["#bug", "#appli"],
           "service": ["#serviceclient", "#SAV"], "quality": ["#déco", "#qualité"], "store": ["#déco", "#soldes"]},
    "en": {"delivery": ["#delivery", "#fail"], "refund": ["#refund"], "app": ["#bug", "#app"],
           "service": ["#customerservice"], "quality": ["#homedecor", "#interiors"], "store": ["#homedecor", "#sale"]},
}

# --- Posts about two brands, or about a topic and no brand -------------------------------------

COMPARE = {
    "fr": [
        "J'hésite entre {un_p} {Bn} et un modèle chez {C}, des avis ?",
        "{C} livre en 48h quand {B} met {days} jours... le choix est vite fait",
        "Franchement {B} > {C} pour le linge de maison, [pas photo|aucun doute]",
        "Après {C} qui m'a remboursé en 3 jours, l'attente chez {B} me paraît interminable",
        "{Bn} ou {C} pour un canapé qui tient plus de 3 ans ? [Budget {amount}.|Ça se voit que j'ai des chats ?]",
        "Même {un_p} chez {Bn} et chez {C}, {pct} % moins cher chez [l'un|l'autre]. Devinez lequel j'ai pris",
        "Le service client de {C} m'a répondu en 10 min, celui de {B} en 10 jours. [Voilà voilà.|Sans commentaire.]",
    ],
    "en": [
        "Torn between {Bn} and {C} for {a_p}, thoughts?",
        "{C} delivered in 2 days, {B} still hasn't shipped. Easy choice",
        "{Bn} beats {C} on bedding, [no contest|hands down]",
        "Same {p_en} at {Bn} and {C}, {pct}% cheaper at one of them. Guess which one I bought",
    ],
}

GENERIC = {
    "fr": {
        "complaint": [
            "Les délais de livraison en ce moment c'est [n'importe quoi|la loterie], tous sites confondus",
            "Pourquoi les applis de shopping plantent toutes au moment de payer ??",
            "Appeler un service client en 2025 = 45 minutes de musique d'attente",
            "3e colis abîmé ce mois-ci, les transporteurs [s'en fichent complètement|jouent au foot avec]",
        ],
        "question": [
            "Le lin lavé ça bouloche ou c'est moi ?",
            "Vous connaissez une enseigne déco qui livre vraiment en 48h ?",
            "Un remboursement au bout de combien de temps vous relancez ?",
        ],
        "neutral": [
            "Astuce : pour un remboursement, gardez toujours la preuve de dépôt du colis",
            "Rappel : le délai légal de rétractation pour un achat en ligne c'est 14 jours",
            "Les ventes de déco en ligne [reculent|progressent] de {pct} % sur un an selon une étude",
        ],
        "praise": [
            "Livraison arrivée en avance ET le livreur a sonné. Journée parfaite",
            "Service client qui rappelle quand il a dit qu'il rappellerait. Ça existe encore",
        ],
    },
    "en": {
        "complaint": [
            "Delivery times right now are a joke, every single shop",
            "Why do all shopping apps crash right at checkout??",
        ],
        "question": ["Any homeware shop that actually delivers in 48h?", "How long do you wait before chasing a refund?"],
        "neutral": ["PSA: always keep the proof of postage for returns", "Online homeware sales [down|up] {pct}% year on year, says a new survey"],
        "praise": ["Parcel came early AND the courier rang the bell. Perfect day"],
    },
}

# --- The brand's own posts (top level) -----------------------------------------------------------

OWN_POSTS = {
    "fr": [
        "☀️ Les soldes d'été commencent [demain|mercredi] à 8h sur le site, l'appli et en magasin !",
        "Nouveauté : la collection Lin lavé est en ligne 🌿 [Vous préférez sauge ou terracotta ?|Dites-nous vos coloris préférés !]",
        "Info livraison : en raison d'un mouvement social chez un de nos transporteurs, des retards de 24 à 48h sont possibles. Toutes nos excuses 🙏",
        "Notre magasin de {city} rouvre ses portes après travaux ce samedi à 10h ! [On vous attend ☕|Café offert le matin ☕]",
        "L'appli fait peau neuve 📱 suivi de colis en temps réel et paiement en 3 fois. Vos retours nous intéressent !",
        "Jeu concours 🎁 gagnez {un_p} en commentant votre pièce préférée de la collection. Tirage au sort {weekday} !",
    ],
    "en": [
        "☀️ Our summer sale starts [tomorrow|Wednesday] at 8am on the website, the app and in stores!",
        "New in: the washed linen collection is online 🌿 Sage or terracotta?",
    ],
}

# --- Replies ---------------------------------------------------------------------------------------

BRAND_REPLY = {
    "fr": {
        ("delivery", "complaint"): [
            "{hello} nous sommes [vraiment |sincèrement |]désolés pour ce [retard|désagrément]. [Pouvez-vous|Pourriez-vous] nous [envoyer|transmettre] votre numéro de commande en MP ? [On regarde ça tout de suite.|Nous vérifions avec le transporteur.] {sig}",
            "{hello} ce n'est pas normal, [toutes nos excuses|on est navrés]. Envoyez-nous votre n° de commande en message privé, on relance le transporteur. {sig}",
        ],
        ("refund", "complaint"): [
            "{hello} le remboursement est déclenché dès réception du retour dans notre entrepôt, [sous 5 à 7 jours ouvrés|en général sous une semaine]. Envoyez-nous votre n° de commande en MP, on vérifie où il en est. {sig}",
            "{hello} désolés pour cette attente. Nous regardons votre dossier si vous nous écrivez en MP avec votre n° de commande. {sig}",
        ],
        ("app", "complaint"): [
            "{hello} merci pour le signalement. [Un correctif est en cours de déploiement|Nos équipes sont sur le coup]. [En attendant, pouvez-vous essayer de réinstaller l'appli ?|Pouvez-vous nous dire quel téléphone vous utilisez ?] {sig}",
            "{hello} désolés pour ce bug 😕 Pouvez-vous mettre à jour l'appli (version 4.12) et nous dire si ça persiste ? {sig}",
        ],
        ("service", "complaint"): [
            "{hello} nous sommes désolés pour cette attente, [nos lignes sont très sollicitées en ce moment|ce n'est pas l'expérience que nous voulons vous offrir]. Écrivez-nous en MP, on s'occupe de vous ici. {sig}",
        ],
        ("quality", "complaint"): [
            "{hello} [désolés|navrés] que {le_p} ne soit pas à la hauteur 😔 Envoyez-nous une photo et votre n° de commande en MP, nous allons [vous proposer un échange|trouver une solution]. {sig}",
        ],
        ("store", "complaint"): [
            "{hello} merci pour votre retour, nous le transmettons [à l'équipe du magasin|au responsable du magasin]. {sig}",
        ],
        ("delivery", "question"): [
            "{hello} [nous livrons en France métropolitaine, en Belgique et en Suisse|la livraison standard prend 3 à 5 jours ouvrés, 48h en express]. {sig}",
            "{hello} oui, c'est possible tant que la commande n'est pas expédiée : écrivez-nous en MP avec votre n° de commande. {sig}",
        ],
        ("refund", "question"): [
            "{hello} le remboursement se fait sur le moyen de paiement utilisé, sous 14 jours max après réception du retour. {sig}",
            "{hello} oui, vous pouvez retourner un achat fait en ligne dans n'importe quel magasin, avec le mail de confirmation. {sig}",
        ],
        ("app", "question"): [
            "{hello} un souci de connexion est en cours de correction, merci de votre patience ! {sig}",
            "{hello} dans l'appli : Mon compte > Paramètres > Supprimer mon compte. {sig}",
        ],
        ("service", "question"): [
            "{hello} notre service client répond du lundi au samedi de 9h à 19h par chat sur le site, et ici en MP 7j/7. {sig}",
            "{hello} bien reçu, on vous répond en MP dans la journée ! {sig}",
        ],
        ("quality", "question"): [
            "<textile>{hello} [oui, |]{le_p} passe en machine à 30°, programme délicat. Toutes les infos d'entretien sont sur la fiche produit. {sig}",
            "{hello} pour l'instant non, mais [on transmet l'idée à nos équipes|de nouveaux coloris arrivent à la rentrée] ! {sig}",
        ],
        ("store", "question"): [
            "{hello} le magasin de {city} est ouvert du lundi au samedi de 10h à 19h30. {sig}",
            "{hello} les soldes commencent mercredi à 8h, en ligne et en magasin ☀️ {sig}",
        ],
        ("any", "praise"): [
            "[Merci beaucoup|Merci mille fois|Oh merci] {first} ! [Ravis que {le_p} vous plaise|Ça nous fait super plaisir] [🧡|✨|☺️] {sig}",
            "Merci pour ce message {first}, on transmet à l'équipe, ça va leur faire plaisir ! {sig}",
        ],
        ("any", "sarcasm"): [
            "{hello} on comprend votre agacement et on en est désolés. Écrivez-nous en MP, on veut arranger ça. {sig}",
        ],
        ("any", "any"): [
            "{hello} merci pour votre message, on vous répond en MP. {sig}",
        ],
        ("crisis", "any"): [
            "{hello} vous pouvez la rapporter dans n'importe quel magasin {Bn}, même sans ticket : remboursement intégral immédiat. Toutes nos excuses. {sig}",
            "{hello} le numéro de lot est gravé sous la base. S'il fait partie des lots {lots}, ne l'utilisez plus et écrivez-nous en MP. {sig}",
            "{hello} nous comprenons votre colère et nous en sommes sincèrement désolés. Une procédure de remboursement intégral est en place. {sig}",
            "{hello} merci pour votre signalement, un conseiller vous contacte en MP [dans l'heure|très vite]. {sig}",
        ],
    },
    "en": {
        ("delivery", "complaint"): [
            "{hello} we're [really |so |]sorry about the delay. Could you DM us your order number? [We'll look into it right away.|We'll chase the courier.] {sig}",
        ],
        ("refund", "complaint"): [
            "{hello} refunds go out as soon as the return reaches our warehouse, usually within a week. DM us your order number and we'll check. {sig}",
        ],
        ("app", "complaint"): [
            "{hello} thanks for flagging. [A fix is rolling out now|The team is on it]. [Could you try reinstalling the app meanwhile?|Which phone are you using?] {sig}",
        ],
        ("service", "complaint"): [
            "{hello} sorry for the wait, our lines are very busy right now. DM us and we'll help you here. {sig}",
        ],
        ("quality", "complaint"): [
            "{hello} sorry to hear the {p_en} isn't up to scratch 😔 DM us a photo and your order number and we'll sort an exchange. {sig}",
        ],
        ("store", "complaint"): ["{hello} thanks for the feedback, we'll pass it on to the store team. {sig}"],
        ("any", "question"): [
            "{hello} [we deliver to France, Belgium, Switzerland and now the UK|refunds go back to the original payment method within 14 days]. {sig}",
            "{hello} got it, we'll reply by DM today! {sig}",
        ],
        ("any", "praise"): ["Thank you so much {first}! [So glad you love it|That made our day] [🧡|✨] {sig}"],
        ("any", "sarcasm"): ["{hello} we understand the frustration and we're sorry. DM us and we'll put it right. {sig}"],
        ("any", "any"): ["{hello} thanks for your message, we'll reply by DM. {sig}"],
    },
}

CUSTOMER_FOLLOWUP = {
    "fr": {
        "good": ["Merci pour la réponse rapide, c'est envoyé en MP", "C'est fait 👍", "Merci, problème réglé !", "Top merci", "Ok merci, j'attends votre retour", "Envoyé !", "Merci {agent}, c'est gentil"],
        "bad": ["Déjà envoyé [3 fois|deux fois]...", "Ça fait une semaine qu'on me dit ça", "MP envoyé hier, toujours rien", "Super, encore un MP qui va finir dans le vide", "C'est exactement ce qu'on m'a dit il y a 10 jours.", "J'attends toujours."],
    },
    "en": {
        "good": ["Thanks, DM sent!", "Done 👍", "Sorted, thanks!", "Cheers {agent}"],
        "bad": ["Already sent it twice...", "That's what you said last week.", "DM'd yesterday, still nothing"],
    },
}

BRAND_SECOND_REPLY = {
    "fr": ["Bien reçu, merci ! On revient vers vous [dans la journée|très vite]. {sig}", "Merci pour votre patience, le dossier est traité en priorité. {sig}",
           "Nous avons relancé le service concerné, vous aurez un retour [aujourd'hui|demain matin]. {sig}"],
    "en": ["Got it, thanks! We'll get back to you shortly. {sig}", "Thanks for your patience, it's being handled as a priority. {sig}"],
}

USER_REPLY = {
    "fr": {
        "complaint": ["+1, même galère [depuis lundi|ici|avec ma commande]", "Pareil pour moi, {days} jours d'attente", "Courage... chez moi ils ont fini par [rembourser|livrer] au bout de 3 semaines",
                      "Ah ben je suis pas la seule alors", "Ouch 😬", "Même chose à {city}", "Pareil 😑"],
        "question": ["Normalement c'est 14 jours après réception du retour", "Passe par le chat, c'est plus rapide que le téléphone", "Oui ils livrent en Belgique, j'ai reçu la mienne à Liège",
                     "Je crois que oui mais à vérifier", "Je me pose la même question", "Chez moi ça a pris une semaine"],
        "praise": ["Trop [beau|joli] ! c'est quel modèle ?", "Je confirme, j'ai le même depuis 2 ans", "Ça donne envie 😍", "Jolie pièce !"],
        "neutral": ["Intéressant", "Enfin !", "Il était temps", "Et les prix, ils bougent ?", "Bonne nouvelle"],
        "sarcasm": ["😂😂😂", "Tellement vrai", "J'ai ri jaune", "Mdr exactement"],
    },
    "en": {
        "complaint": ["Same here 🙄", "+1, been waiting {days} days", "Oh no, hope they sort it out", "Same in {city}"],
        "question": ["I think it's 14 days after they get the return", "Try the website chat, much quicker", "Wondering the same"],
        "praise": ["Love it! Which one is it?", "Ooh gorgeous", "Got the same one, agree"],
        "neutral": ["Interesting", "About time", "Finally!"],
        "sarcasm": ["😂 so true", "Felt this", "lol"],
    },
}

QUOTE = {
    "fr": ["[Voilà|Tiens,] [ça confirme ce que je disais|ça explique pas mal de choses]", "Bon à savoir 👇", "Je plussoie", "Encore ?!", "Pas étonné", "Exactement mon expérience"],
    "en": ["This 👇", "Worth knowing", "Not surprised tbh", "Exactly my experience"],
}

# --- The crisis: a product recall of the tenant brand --------------------------------------------

CRISIS_ALERT = [
    "⚠️ RAPPEL PRODUIT — {Bn} rappelle {sa_cp} (lots {lots}) : défaut d'isolation, risque de brûlure et d'électrocution. Ne plus l'utiliser. {ch}",
]
CRISIS_STATEMENT = [
    "⚠️ Rappel produit : par précaution, nous rappelons {la_cp} (lots {lots}) pour un défaut pouvant entraîner un risque de brûlure. Ne l'utilisez plus : remboursement intégral en magasin ou sur notre site. Toutes nos excuses. {ch}",
]
CRISIS_OPENERS = ["Sérieux ?", "Wow.", "Bon ben", "Je viens de voir ça 😱", "Alerte :", "Pfff", "Incroyable", "C'est une blague ??", "Attention !", "Oh non", "Euh...", "Ok là ça fait peur"]
CRISIS = [
    "{B} rappelle {sa_cp} pour un défaut [électrique|d'isolation|sur la résistance]. [Risque de brûlure.|Risque d'électrocution.|Danger réel.]",
    "On en a {une_cp} à la maison depuis [Noël|deux mois|l'an dernier] 😱 [{Elle} part direct à la poubelle|Je la débranche tout de suite|Les enfants s'en servent tous les matins]",
    "{la_mienne} [faisait des étincelles|chauffait bizarrement|sentait le brûlé] depuis [une semaine|des jours], j'avais [signalé au SAV|envoyé un mail à {B}] et [aucune réponse|on m'a dit que c'était normal]",
    "Donc {B} [savait|était au courant] pour le défaut [depuis des semaines|avant de la mettre en promo] ?? [Scandale.|C'est grave.|Inadmissible.]",
    "Un produit dangereux vendu [pendant des mois|à des milliers d'exemplaires] et on l'apprend [sur les réseaux|par un compte d'info conso|par hasard]. [Merci {B}|Bravo la transparence]",
    "Rappel {B} : vérifiez le numéro de lot sous votre {cp} (lots {lots}). [Faites tourner|Partagez autour de vous|Prévenez vos proches].",
    "Le défaut de {la_cp} {Bn}, c'est pas un petit défaut, c'est un danger [pour les enfants|d'incendie|tout court]",
    "Et le remboursement du rappel, c'est en avoir ou en vrai argent {B} ?",
    "[Plus jamais d'électroménager chez {B}|Je n'achèterai plus rien chez {B}|Fini {Bn} pour moi|Confiance zéro en {B}] après ce rappel[.|, honnêtement.|. Dommage, j'aimais bien.]",
    "[Ma mère|Mon père|Ma grand-mère|Ma sœur] en a [acheté|commandé] [deux|{une_cp}] [pour Noël|pour son anniversaire|en promo] 😡 [je l'appelle tout de suite|je préviens tout de suite|je lui envoie le lien du rappel]",
    "{B} votre service client est injoignable depuis l'annonce du rappel. [Ligne saturée.|Le chat plante.] [Super gestion de crise.|On fait comment ?]",
    "Rappel de {la_cp} {Bn} : [risque de brûlure|défaut électrique|danger d'électrocution]. [J'ai la même dans ma cuisine...|Il y en a une au bureau...|On l'utilise tous les jours...]",
    "[Rappel|Défaut|Danger] sur {la_cp} de {B} : [pourquoi on l'apprend que maintenant ?|combien d'accidents avant de réagir ?]",
    "Ça fait [3|4] fois que j'essaie d'appeler {B} pour le rappel de {la_cp}. [Personne.|Toujours occupé.]",
    "Mon fils s'est brûlé avec {la_cp} [le mois dernier|en avril], {B} m'avait répondu \"mauvaise utilisation\". Et là rappel pour défaut. [Je suis hors de moi.|Je vais porter plainte.]",
]
CRISIS += [
    "[Bon ben|Bon,] {la_cp}, direction la déchetterie. [Merci {B}.|Cadeau de Noël raté.|Quelle honte.]",
    "Je viens de vérifier : lot [2407|2411|2415|2409]. [Évidemment.|Génial.|Super.] [On fait comment {B} ?|Et maintenant ?|Je la rapporte demain.]",
    "[Combien|Il y a eu combien] [de brûlures|de blessés|d'accidents] avant ce rappel {B} ? [On veut savoir.|La question mérite d'être posée.]",
    "Les enfants se font leur chocolat chaud avec {la_cp} tous les matins... [j'en tremble|ça me glace le sang|je suis sous le choc]",
    "Pourquoi {B} ne prévient pas [par mail|par SMS] les clients qui ont acheté {la_cp} ? [Ils ont nos coordonnées !|On a un compte client pourtant.]",
    "[Rapportée|Ramenée] en magasin à {city} : [remboursée sans souci, au moins ça|40 personnes dans la file pour le rappel|le vendeur n'était même pas au courant du rappel]",
    "Un défaut [de sécurité|électrique] sur {une_cp} {cp} à {amount}. [Bravo le contrôle qualité.|On achète quoi chez vous au juste ?]",
    "{B} parle de rappel \"par précaution\". Non, c'est un danger réel, [appelez un chat un chat|arrêtez de minimiser].",
    "[Info|Important] : si vous avez {une_cp} {cp} de chez {Bn}, débranchez tout de suite et regardez le lot dessous. [Risque de brûlure.|Risque d'électrocution.]",
    "Ma [sœur|voisine|collègue] s'est brûlé la main avec {la_cp} [le mois dernier|cet hiver]. On comprend mieux maintenant[ 😡|.]",
    "C'est fou, j'ai offert {une_cp} {cp} à [ma belle-mère|ma tante|mon père] [à Noël|pour son anniversaire]. [Je préviens tout le monde.|Quelle angoisse.]",
    "Rappel {B} : le site [plante|est inaccessible], impossible de [vérifier mon lot|remplir le formulaire de remboursement]. [Génial.|Gestion de crise niveau zéro.]",
    "Après le rappel de {la_cp}, je me demande ce qui cloche sur [le reste de la gamme|les autres produits {Bn}]. [Je vais tout vérifier.|Ça fait peur.]",
    "Le défaut de {la_cp} {Bn} était signalé [depuis des mois|depuis mars] dans les avis clients. [Il suffisait de lire.|Personne n'a écouté.]",
    "{la_mienne} a [grillé|fait sauter les plombs] [la semaine dernière|en mai]. J'ai cru que c'était [ma faute|mon installation]. Avec le rappel {B}, tout s'explique.",
    "Donc le \"petit défaut\" de {la_cp}, c'est un risque d'électrocution. [Super.|Rassurant.] {B}",
]
CRISIS_TAGS = ["#rappel", "#danger", "#défaut", "#conso"]
