"""Name parts for synthetic people and companies (common in France, of many origins)."""

FIRST_NAMES = (
    "Adam", "Aïcha", "Alice", "Amadou", "Ambre", "Anh", "Antoine", "Arthur", "Awa", "Bilal",
    "Camille", "Chloé", "Clément", "Diane", "Djibril", "Élodie", "Emma", "Fatou", "Florian",
    "Gabriel", "Hugo", "Ibrahim", "Inès", "Jade", "Jean", "Julie", "Karim", "Khadija", "Léa",
    "Léo", "Linh", "Louis", "Lucas", "Lucie", "Malik", "Manon", "Marie", "Mathis", "Mehdi",
    "Mei", "Moussa", "Nadia", "Nathan", "Nicolas", "Nour", "Oscar", "Paul", "Pierre", "Quentin",
    "Rayan", "Rose", "Sacha", "Samir", "Sarah", "Sofia", "Théo", "Thomas", "Vincent", "Wei",
    "Yanis", "Yasmine", "Youssef", "Zoé",
)
SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet",
    "Francois", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guerin",
    "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clement", "Gauthier",
    "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Benali", "Haddad", "Mansouri",
    "Diallo", "Traore", "Nguyen", "Tran", "Chen", "Wang", "Yilmaz", "Kaya", "Ferreira",
    "Silva", "Rossi", "Cohen", "Benhamou", "Kone", "Camara", "Sow", "Cisse", "Belkacem",
)
COMPANY_FORMS = ("SARL", "SAS", "SASU", "EURL", "SA")
